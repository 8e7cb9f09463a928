#head;hrl;2.0;utf-8#source gridprune
#ref#audio_input#speaker#transcription
head#test
ref#search80/000.flac#en-gb-x-rp+m2#AFTER TO RECOGNITION NOW CHILDREN FEW
ref#search80/001.flac#en-gb-x-gbclan+m7#OUTPUTS NEURONS TO
ref#search80/002.flac#en-029+f5#WHY FINISHED THE RESULTS SCHEDULER CLUSTERS
ref#search80/003.flac#en-us-nyc+m1#BUT ROWS WORST
ref#search80/004.flac#en-us+m6#THE IN SET PHONES WHEN IS SMALLEST
ref#search80/005.flac#en-gb+f4#LAST THAT NODES BUT NODE IS TOOLS
ref#search80/006.flac#en-gb-scotland+Annie#WHEN SPARSE OUTPUTS AND IN ANOTHER IT
ref#search80/007.flac#en-gb-x-rp+m5#WORKER CAN'T GENERATIONS
ref#search80/008.flac#en-gb-x-gbclan+f3#GENES HAD CROSSOVER
ref#search80/009.flac#en-029+michel#STARTS SPEAKERS UNITS MORE DISTILLATION THAN NODES
ref#search80/010.flac#en-us-nyc+m4#TASKS AND WERE START SMALLER
ref#search80/011.flac#en-us+f2#IN FOUND TRANSFORMER AGAIN EDGE ENCODER CORES
ref#search80/012.flac#en-gb+max#THE IT ALGORITHM PHONEMES
ref#search80/013.flac#en-gb-scotland+m3#CHROMOSOME BLOCK GENETIC WHICH
ref#search80/014.flac#en-gb-x-rp+f1#GENERATION LARGE THE LOSS MOST
ref#search80/015.flac#en-gb-x-gbclan+croak#RESULT ARE BEAM WHEN
ref#search80/016.flac#en-029+m2#PROCESSOR CHIP THEM TENSORS WORST DISTILLATION
ref#search80/017.flac#en-us-nyc+m7#ACCURATE ROWS POPULATION THE ARE
ref#search80/018.flac#en-us+f5#WHAT THESE ROWS WERE
ref#search80/019.flac#en-gb+m1#UTTERANCE ITS KEEP THE
ref#search80/020.flac#en-gb-scotland+m6#GREEDY FOR GREEDY TO LOW DEVICE OVER
ref#search80/021.flac#en-gb-x-rp+f4#THAN WILL SOFTWARE
ref#search80/022.flac#en-gb-x-gbclan+Annie#SIMPLE TRAIN HALF AT
ref#search80/023.flac#en-029+m5#OF OF BE
ref#search80/024.flac#en-us-nyc+f3#RESULTS LOSING UNDER FEATURES IS
ref#search80/025.flac#en-us+michel#PARTS THE NODES
ref#search80/026.flac#en-gb+m4#OF RESEARCH WILL AT EPOCHS THE
ref#search80/027.flac#en-gb-scotland+f2#DON'T RESULTS EVALUATE YOU WEIGHT
ref#search80/028.flac#en-gb-x-rp+max#USERS THAN GREEDY AGAIN BATCHES IN US
ref#search80/029.flac#en-gb-x-gbclan+m3#TO COMPRESSION SPEECH EMBEDDED RESTART PHONES
ref#search80/030.flac#en-029+f1#THE GROW ALSO BETTER
ref#search80/031.flac#en-us-nyc+croak#ACOUSTIC OVER SENDS CRASH
ref#search80/032.flac#en-us+m2#WITH ONCE HERE NOT NOW EDGE
ref#search80/033.flac#en-gb+m7#LIST CUTS SPEAKER SPEAKER
ref#search80/034.flac#en-gb-scotland+f5#MAKES YOUR SELECTION MOST LASTS
ref#search80/035.flac#en-gb-x-rp+m1#LOSE MEASURE WHO
ref#search80/036.flac#en-gb-x-gbclan+m6#DISTILLATION ENERGY BEEN OVER REDUCES AS
ref#search80/037.flac#en-029+f4#DAY A BATCHES
ref#search80/038.flac#en-us-nyc+Annie#SCORE EVERY OTHER ERROR FITNESS AGAIN EXPERIMENTS
ref#search80/039.flac#en-us+m5#TO CHROMOSOME INDIVIDUAL
ref#search80/040.flac#en-gb+f3#EMBEDDED QUEUE HAS RUNNING COMPUTE SPARSE HIGH
ref#search80/041.flac#en-gb-scotland+michel#LESS TRAINED FOR
ref#search80/042.flac#en-gb-x-rp+m4#THE REMOVES LANGUAGE HALF SETS
ref#search80/043.flac#en-gb-x-gbclan+f2#GROWS THEN WHERE CUT
ref#search80/044.flac#en-029+max#ROW WILL RECORDING ARE WHAT
ref#search80/045.flac#en-us-nyc+m3#MODELS LISTEN FINISH AND THE BUILD
ref#search80/046.flac#en-us+f1#AND IN ON WHY SEARCH SEARCHES KEEPS
ref#search80/047.flac#en-gb+croak#NOT RUNS ARE OUR TO
ref#search80/048.flac#en-gb-scotland+m2#NEURAL ONCE REMOVED USED
ref#search80/049.flac#en-gb-x-rp+m7#COLUMNS IN TRAIN NUMBER SEARCHES FIRST LEARNING
ref#search80/050.flac#en-gb-x-gbclan+f5#OF USED RESEARCH TWO AND ALSO
ref#search80/051.flac#en-029+m1#A MUST BLOCKS WHERE
ref#search80/052.flac#en-us-nyc+m6#LANGUAGE REMOVE AN
ref#search80/053.flac#en-us+f4#RECORDING TASK VOICE THEM REMOVES NUMBER
ref#search80/054.flac#en-gb+Annie#CHIP COST TO SPEED
ref#search80/055.flac#en-gb-scotland+m5#HARDWARE SOME BLOCK
ref#search80/056.flac#en-gb-x-rp+f3#SEND NETWORKS CAN SCHEDULER SCORES SOME ALL
ref#search80/057.flac#en-gb-x-gbclan+michel#HAS YOU TRAINED REMOVES HALF
ref#search80/058.flac#en-029+m4#ARRAY USED WORD APPLICATION
ref#search80/059.flac#en-us-nyc+f2#STILL OVER WHAT REDUCES CHROMOSOMES POWER
ref#search80/060.flac#en-us+max#EDGE RUN EDGE
ref#search80/061.flac#en-gb+m3#WHAT MAKES LOSING THERE INPUTS RUN ARE
ref#search80/062.flac#en-gb-scotland+f1#SAVES STILL GROWS PARALLEL POPULATION
ref#search80/063.flac#en-gb-x-rp+croak#OUTPUT AFTER FROM THIS
ref#search80/064.flac#en-gb-x-gbclan+m2#ENGLISH OUTPUT IMPROVES TO NOT PRUNING
ref#search80/065.flac#en-029+m7#MEASURED BOTH INPUTS
ref#search80/066.flac#en-us-nyc+f5#RESULTS IN RESTART CREATE GRID
ref#search80/067.flac#en-us+m1#WORKERS LAYER ALWAYS
ref#search80/068.flac#en-gb+m6#AND THAT HIDDEN WHAT TO
ref#search80/069.flac#en-gb-scotland+f4#WHILE RECORDING THE RUNNING YOUR THEN
ref#search80/070.flac#en-gb-x-rp+Annie#GIVES SCORES PHONEMES SEARCH IN RANDOM TO
ref#search80/071.flac#en-gb-x-gbclan+m5#THE THERE GRADIENTS
ref#search80/072.flac#en-029+f3#APPLICATION SIGNAL CUTS HERE TO SAMPLE
ref#search80/073.flac#en-us-nyc+michel#OF NODE SECONDS
ref#search80/074.flac#en-us+m4#QUEUE MOST SHOULD
ref#search80/075.flac#en-gb+f2#AT WRITE PHONEMES UNDER
ref#search80/076.flac#en-gb-scotland+max#THE WHICH SMALL HOW FINISH SAME
ref#search80/077.flac#en-gb-x-rp+m3#AGAIN YOU ISN'T
ref#search80/078.flac#en-gb-x-gbclan+f1#ROW ENERGY THEN MUST NOT SAVE
ref#search80/079.flac#en-029+croak#HAVE EVERY TO SMALLEST FIRST
