#head;hrl;2.0;utf-8#source gridprune
#ref#audio_input#speaker#transcription
head#test
ref#heldout0.wav#en-gb+f5#THE CLUSTER SAVES EVERY RESULT IN A SHARED FOLDER
ref#heldout1.wav#en-gb-scotland+m1#A FAST DECODER LISTENS TO THE MICROPHONE
ref#heldout2.wav#en-gb-x-rp+m6#RESEARCHERS MEASURE THE LATENCY OF EACH LAYER
ref#heldout3.wav#en-gb-x-gbclan+f4#THE POPULATION GROWS BETTER WITH EVERY GENERATION
ref#heldout4.wav#en-029+Annie#WE KEEP THE ATTENTION HEADS AND CUT THE HIDDEN UNITS
ref#heldout5.wav#en-us-nyc+m5#A QUIET VOICE IS HARDER TO RECOGNISE
ref#heldout6.wav#en-us+f3#THE BATTERY OF THE PHONE LASTS ALL DAY
ref#heldout7.wav#en-gb+michel#EACH WORKER LOADS THE MODEL ONCE
ref#heldout8.wav#en-gb-scotland+m4#SPARSE WEIGHTS DO NOT ALWAYS RUN FASTER
ref#heldout9.wav#en-gb-x-rp+f2#THE PARENTS WITH THE BEST FITNESS HAVE MORE CHILDREN
