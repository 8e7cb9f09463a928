#head;hrl;2.0;utf-8#source gridprune
#ref#audio_input#speaker#transcription
head#test
ref#heldout80/000.flac#en-us-nyc+m2#BLOCKS WORKER RESEARCHERS WRITES OVER
ref#heldout80/001.flac#en-us+m7#RUN SENTENCE BEFORE OF
ref#heldout80/002.flac#en-gb+f5#EVERY FINISHED GRADIENTS SPARSE
ref#heldout80/003.flac#en-gb-scotland+m1#A OTHER AND
ref#heldout80/004.flac#en-gb-x-rp+m6#HARD IT US THEIR
ref#heldout80/005.flac#en-gb-x-gbclan+f4#NO ONE OF SAVES
ref#heldout80/006.flac#en-029+Annie#SENTENCES GRADIENTS FROM MUTATION MOST
ref#heldout80/007.flac#en-us-nyc+m5#VALUES THE MANY APPLICATION
ref#heldout80/008.flac#en-us+f3#BY PRUNED THE US AND REDUCE
ref#heldout80/009.flac#en-gb+michel#LATENCY AND CORE
ref#heldout80/010.flac#en-gb-scotland+m4#NUMBER RUN THEM NEURONS
ref#heldout80/011.flac#en-gb-x-rp+f2#TO CHILD NEED ALIGNMENT
ref#heldout80/012.flac#en-gb-x-gbclan+max#JOB WEIGHT SPEED BUT EACH
ref#heldout80/013.flac#en-029+m3#OTHER WHERE THAN FIRST RECOGNISE FRAMES YOU
ref#heldout80/014.flac#en-us-nyc+f1#THE IN SOFTWARE ALGORITHM DEVICES IF IS
ref#heldout80/015.flac#en-us+croak#INTO DOES A ISN'T PARENTS
ref#heldout80/016.flac#en-gb+m2#IN TOOL PARAMETER VALUE ONE THE
ref#heldout80/017.flac#en-gb-scotland+m7#BEEN TO COMPRESSED
ref#heldout80/018.flac#en-gb-x-rp+f5#HAS ISN'T MASTER SIGNAL GENES
ref#heldout80/019.flac#en-gb-x-gbclan+m1#RUNS UNDER WORDS HIDDEN
ref#heldout80/020.flac#en-029+m6#TRAINED NEXT OVER
ref#heldout80/021.flac#en-us-nyc+f4#OF SAVES THE THE THE BLOCKS INDIVIDUALS
ref#heldout80/022.flac#en-us+Annie#HIDDEN ALGORITHM SCORES NOT THE CHROMOSOME IS
ref#heldout80/023.flac#en-gb+m5#ALIGNMENT FRAMES POPULATION
ref#heldout80/024.flac#en-gb-scotland+f3#EVALUATES PROCESSOR MINUTES DAY
ref#heldout80/025.flac#en-gb-x-rp+michel#NOISE THERE MAGNITUDE RUN
ref#heldout80/026.flac#en-gb-x-gbclan+m4#REMOVED IN ROBUST DECODER OTHER REDUCTION
ref#heldout80/027.flac#en-029+f2#OLD VOICES PAPER LATENCY LASTS ERRORS
ref#heldout80/028.flac#en-us-nyc+max#MASTER TO CROSSOVER MODELS
ref#heldout80/029.flac#en-us+m3#LOCAL PARALLEL JOBS
ref#heldout80/030.flac#en-gb+f1#WEIGHTS CODE TESTS
ref#heldout80/031.flac#en-gb-scotland+croak#TWO AT MASK AS OUR MUTATION
ref#heldout80/032.flac#en-gb-x-rp+m2#SPEAKER OTHER IS GREEDY WITHOUT
ref#heldout80/033.flac#en-gb-x-gbclan+m7#BEEN WHO SEARCHES NIGHT
ref#heldout80/034.flac#en-029+f5#USES AT PAPER SEED THE
ref#heldout80/035.flac#en-us-nyc+m1#A ENGLISH OTHER THE
ref#heldout80/036.flac#en-us+m6#MANY NOW BEEN HAD THE IS
ref#heldout80/037.flac#en-gb+f4#HAD SCORES THAT OR JUST
ref#heldout80/038.flac#en-gb-scotland+Annie#AT ENERGY INPUT ONCE
ref#heldout80/039.flac#en-gb-x-rp+m5#IS OF INDIVIDUALS THIS
ref#heldout80/040.flac#en-gb-x-gbclan+f3#THEIR OF WRITE ON
ref#heldout80/041.flac#en-029+michel#WHY QUANTIZATION IT ONCE HAS GENETIC
ref#heldout80/042.flac#en-us-nyc+m4#VERY PYTHON NEXT AN
ref#heldout80/043.flac#en-us+f2#HARD OLD AND HAD
ref#heldout80/044.flac#en-gb+max#WITHOUT ALL DATASET ALWAYS ALSO
ref#heldout80/045.flac#en-gb-scotland+m3#ANOTHER TENSOR CRASH FILE
ref#heldout80/046.flac#en-gb-x-rp+f1#GROW WHICH SPEAKERS
ref#heldout80/047.flac#en-gb-x-gbclan+croak#THE MOST TWO CRASH NEED THERE
ref#heldout80/048.flac#en-029+m2#THIS SPARSE START RECOGNISER GIVES
ref#heldout80/049.flac#en-us-nyc+m7#LOSS ISN'T THAT MOST RESEARCH THE GRADIENTS
ref#heldout80/050.flac#en-us+f5#OF CHOOSE LEARNING ACOUSTIC NODES
ref#heldout80/051.flac#en-gb+m1#PARENTS LANGUAGE LAST
ref#heldout80/052.flac#en-gb-scotland+m6#RESEARCHERS WITH TIME THE THEIR OF
ref#heldout80/053.flac#en-gb-x-rp+f4#DECODING OF IT'S JUST FOR
ref#heldout80/054.flac#en-gb-x-gbclan+Annie#EXPERIMENTS ALSO AND MASTER USERS THE
ref#heldout80/055.flac#en-029+m5#CHILDREN MAKES YOU SELECTION
ref#heldout80/056.flac#en-us-nyc+f3#AT WITH ATTENTION OUTPUTS THE LOW IT'S
ref#heldout80/057.flac#en-us+michel#STOPS GREEDY LANGUAGE ALSO DECODING MASK
ref#heldout80/058.flac#en-gb+m4#SHOULD WEIGHT ROWS GOOD BATTERY MUST
ref#heldout80/059.flac#en-gb-scotland+f2#NODE BUT EXPERIMENT SPEECH
ref#heldout80/060.flac#en-gb-x-rp+max#SENTENCE VALUES WHAT LABELS VERY SMALLER ABOUT
ref#heldout80/061.flac#en-gb-x-gbclan+m3#FAST CRASH DEVICE LATENCY FEATURE
ref#heldout80/062.flac#en-029+f1#TESTS PRUNING SPEECH AS CHIP LOSING CRASH
ref#heldout80/063.flac#en-us-nyc+croak#IN NOW DAY
ref#heldout80/064.flac#en-us+m2#LIST WHERE BLOCKS SMALL
ref#heldout80/065.flac#en-gb+m7#KEEPS FAST MANY
ref#heldout80/066.flac#en-gb-scotland+f5#DON'T DIFFERENT TEXT WRITE
ref#heldout80/067.flac#en-gb-x-rp+m1#ONCE COMPRESS LARGE AS
ref#heldout80/068.flac#en-gb-x-gbclan+m6#ENCODER NODES ISN'T THE
ref#heldout80/069.flac#en-029+f4#CUTS TEST REDUCE DO
ref#heldout80/070.flac#en-us-nyc+Annie#FAST PARENT OF PART SENTENCES
ref#heldout80/071.flac#en-us+m5#IN A SO ARE TRAIN STARTS
ref#heldout80/072.flac#en-gb+f3#PRUNING TO NEW LEARN THEY COMPUTE
ref#heldout80/073.flac#en-gb-scotland+michel#THE ROWS JUST QUALITY INDIVIDUALS FROM
ref#heldout80/074.flac#en-gb-x-rp+m4#TO BATTERY THE UNITS
ref#heldout80/075.flac#en-gb-x-gbclan+f2#SLOW ATTENTION PROCESSOR
ref#heldout80/076.flac#en-029+max#VOICES PROCESSOR OF FITNESS
ref#heldout80/077.flac#en-us-nyc+m3#A LOSE ATTENTION A OF HEAD WRITES
ref#heldout80/078.flac#en-us+f1#UNITS SEARCHES OUR JOB INPUTS
ref#heldout80/079.flac#en-gb+croak#REMOVES ABOUT SAVES AND HERE THAN LOADS
