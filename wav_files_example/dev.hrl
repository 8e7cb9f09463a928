#head;hrl;2.0;utf-8#source gridprune
#ref#audio_input#speaker#transcription
head#test
ref#dev0.wav#en-gb-x-gbclan+max#MASKS SOUND WHICH HAD DEVICE LOSING AND
ref#dev1.wav#en-029+m3#SIZE OTHER BUDGET
ref#dev2.wav#en-us-nyc+f1#REMOVED MEMORY ENCODER APPLICATION NOW CAN'T
ref#dev3.wav#en-us+croak#SOME IT'S SAMPLE STILL COMPRESSING THE NOW
ref#dev4.wav#en-gb+m2#SO LOSS EVEN OTHER THAT CHOOSE CHIP
ref#dev5.wav#en-gb-scotland+m7#EPOCHS ISN'T QUIET ATTENTION
ref#dev6.wav#en-gb-x-rp+f5#LOSE SHOULD MUTATION WILL ONE
ref#dev7.wav#en-gb-x-gbclan+m1#PARENTS IT'S ACOUSTIC TENSOR NOT
ref#dev8.wav#en-029+m6#NETWORKS OUTPUTS WHAT
ref#dev9.wav#en-us-nyc+f4#ONLY PHONEMES SPEAKER ALGORITHM PARAMETER ALSO
ref#dev10.wav#en-us+Annie#PHONE BEAM MUST RECOGNISER IN LOSING
ref#dev11.wav#en-gb+m5#TOOL AN WHEN
ref#dev12.wav#en-gb-scotland+f3#WILL HEADS ALSO GRID RESULT START
ref#dev13.wav#en-gb-x-rp+michel#OUTPUTS BEEN QUIET THE FEW MANY
ref#dev14.wav#en-gb-x-gbclan+m4#TRANSCRIPTION IN THE
ref#dev15.wav#en-029+f2#LEARNING ENGLISH TRAIN HEAD STARTS NEED
ref#dev16.wav#en-us-nyc+max#FIRST EMBEDDED MASKS
ref#dev17.wav#en-us+m3#REDUCTION NETWORK CREATES
ref#dev18.wav#en-gb+f1#TRAINED SLOWER IS INPUT UNDER CRASH OF
ref#dev19.wav#en-gb-scotland+croak#EPOCHS GIVES CUT MAY
