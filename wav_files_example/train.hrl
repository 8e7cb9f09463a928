#head;hrl;2.0;utf-8#source gridprune
#ref#audio_input#speaker#transcription
head#test
ref#train/000.flac#en-us+f5#THE ALSO CORES GREEDY
ref#train/001.flac#en-us-nyc+f2#SOME ALSO YOU NETWORK HERE TO
ref#train/002.flac#en-029+f2#WHILE OF THE WERE QUANTIZATION IMPROVE SCHEDULER
ref#train/003.flac#en-gb+m2#INTO AND IS ALIGNMENT THE SAVES
ref#train/004.flac#en-gb-x-rp+f4#SHRINK YOU PRUNE SOUND UTTERANCE BATCHES
ref#train/005.flac#en-gb-x-rp+max#QUANTIZATION INDIVIDUAL A ONCE NOISE DISTILLATION GENERATIONS
ref#train/006.flac#en-us+f4#HAD THESE THEN NEURONS BOTH
ref#train/007.flac#en-gb+michel#FORWARD AND HARDER BATTERY BATCHES
ref#train/008.flac#en-gb+m2#PAPER HAD WHILE
ref#train/009.flac#en-029+m5#EVALUATE WHICH EVERY DO MAGNITUDE MUST VERY
ref#train/010.flac#en-us-nyc+f2#OTHER US NOISE A RESEARCH OUTPUTS
ref#train/011.flac#en-us-nyc+m4#STILL EVALUATE HERE A THAN IMPROVE EVALUATES
ref#train/012.flac#en-gb-scotland+f3#LETTER ONLY CUT ONE EVEN
ref#train/013.flac#en-us+m4#ALSO ROW START OTHER
ref#train/014.flac#en-029+f3#PROCESSOR MODEL WORD CHROMOSOMES EXPERIMENTS RANDOM
ref#train/015.flac#en-gb-scotland+f3#DIFFERENT RECOGNITION ISN'T HEAR ISN'T
ref#train/016.flac#en-gb-x-gbclan+m6#FEATURE SOME ANOTHER SEARCHES THEM TOOLS NEXT
ref#train/017.flac#en-gb-scotland+f5#SHOULD THEM LARGER VOICE INDIVIDUAL EXPERIMENT THE
ref#train/018.flac#en-gb-x-gbclan+f3#VALUES NEW IS RESULTS LESS DON'T SEARCH
ref#train/019.flac#en-us+m3#VERY SPOKEN JOB
ref#train/020.flac#en-us+m2#SAVES THEY AT QUIET PARTS LOSS
ref#train/021.flac#en-gb-scotland+Annie#SPEECH ENCODER EVEN
ref#train/022.flac#en-029+m1#ISN'T ROW SOME
ref#train/023.flac#en-gb-x-rp+f2#HERE A THE HOW NEED
ref#train/024.flac#en-gb-scotland+m6#TENSORS THEN PRUNED IS
ref#train/025.flac#en-gb-x-gbclan+m2#FITNESS FINISHED IT CORES HEAR HAS
ref#train/026.flac#en-gb-x-gbclan+m4#IS SPOKEN SETS
ref#train/027.flac#en-029+m7#QUEUE HAD ABOUT POPULATION IN BIG
ref#train/028.flac#en-us+m1#RESEARCH TO KEEP CLEAR THE FROM ISN'T
ref#train/029.flac#en-us+f4#HEAR FAST MASK THE BATCH QUALITY
ref#train/030.flac#en-029+f1#FEATURES COULD ISN'T SAMPLE YOUR THE AFTER
ref#train/031.flac#en-gb-x-rp+f2#ROBUST THEM AN COMPRESSING FINISHED THAN
ref#train/032.flac#en-gb-scotland+croak#WHEN DECODER ARE GIVES REMOVE SMALL
ref#train/033.flac#en-us-nyc+croak#NEED RATE UNDER COMPRESSING ERROR REMOVE
ref#train/034.flac#en-us+f3#COMPRESSION THE MORE LARGER ALIGNMENT RECOGNISER STOPS
ref#train/035.flac#en-gb-scotland+f4#OF ONCE THAT AS CHROMOSOME
ref#train/036.flac#en-gb-x-gbclan+m2#SELECTION TRAINING NO
ref#train/037.flac#en-gb-x-rp+Annie#MUTATION THEY WE THE
ref#train/038.flac#en-gb-scotland+f2#BEST ACCURACY PARAMETER HEADS NEW EPOCHS MAGNITUDE
ref#train/039.flac#en-gb-scotland+Annie#BATTERY BEAM FILES ONLY
ref#train/040.flac#en-gb-x-rp+f1#SAMPLES WORD SEARCHES WEIGHT
ref#train/041.flac#en-us+f2#WORD LAYER BEFORE AFTER THE THE DAY
ref#train/042.flac#en-gb-scotland+m5#CLUSTERS CHECKPOINT AUDIO ENCODER WEIGHTS TESTS TO
ref#train/043.flac#en-gb-x-gbclan+m4#THEN SIZE INPUT
ref#train/044.flac#en-gb+m7#WHERE AND WORKERS
ref#train/045.flac#en-gb+m2#CAN TESTS THE WHO A BEFORE
ref#train/046.flac#en-gb-x-gbclan+m4#APPLICATION NETWORK A WHILE EVEN CLUSTER OUTPUTS
ref#train/047.flac#en-gb-scotland+m6#ABOUT LEARN FINISHED THE STARTS THEM OUTPUTS
ref#train/048.flac#en-us+f4#MOST SO SAMPLE ONCE CAN'T
ref#train/049.flac#en-029+Annie#ALIGNMENT SENDS SPEAKERS SHOULD THEY
ref#train/050.flac#en-us+m7#BEST CROSSOVER JOBS THE HAS SCORES
ref#train/051.flac#en-us-nyc+f3#HAVE INDIVIDUAL NEURONS IT'S FIRST CODE MORE
ref#train/052.flac#en-gb-scotland+m4#WILL IS COLUMNS
ref#train/053.flac#en-029+m5#SOME THE SEARCH CREATE BATTERY WHAT MOBILE
ref#train/054.flac#en-gb+m3#TESTS TENSOR RANDOM GRID WHICH STOP COMPRESSING
ref#train/055.flac#en-gb-x-gbclan+michel#DATASET DECODE DO WHICH EVERY
ref#train/056.flac#en-us+michel#EVALUATE SHOULD HAVE CAN
ref#train/057.flac#en-gb+m1#QUALITY LETTER GROW WHERE INPUTS
ref#train/058.flac#en-029+f1#THE VERY DO TOOLS RECOGNISER
ref#train/059.flac#en-gb+f3#DON'T AND COLUMNS
ref#train/060.flac#en-us-nyc+m5#NEURAL DEVICES ONCE BY GOOD
ref#train/061.flac#en-gb-scotland+f3#WRITE THERE LARGER YOUR WRITE HOURS NODES
ref#train/062.flac#en-gb-x-gbclan+f3#SENDS WHICH THE DECODE ALWAYS
ref#train/063.flac#en-029+m5#IN RUN BEEN LABELS THE JUST IS
ref#train/064.flac#en-029+m6#SOUND THE RANDOM BUT MORE ISN'T BOTH
ref#train/065.flac#en-us-nyc+Annie#CREATE MASK LAYERS
ref#train/066.flac#en-gb-x-gbclan+m6#NEW WORD MORE MANY AS
ref#train/067.flac#en-us-nyc+f1#US BUT GRADIENTS ACCURATE
ref#train/068.flac#en-gb-x-gbclan+croak#THE US READ BEEN IS
ref#train/069.flac#en-us-nyc+f4#NOT ACOUSTIC RANDOM LOSE
ref#train/070.flac#en-us-nyc+michel#HOW RUN OF SIZE SAME
ref#train/071.flac#en-gb-x-gbclan+f2#THE SAVES WITH
ref#train/072.flac#en-gb+f4#DISTILLATION INDIVIDUALS THESE
ref#train/073.flac#en-gb-scotland+f5#WORST PYTHON PHONEMES THE NOT USES PHONE
ref#train/074.flac#en-gb-x-gbclan+max#OLD EVEN DON'T
ref#train/075.flac#en-us+f3#BOTH LIST NUMBER USES MORE TOOLS
ref#train/076.flac#en-029+f1#WERE LETTER HARD HARD DECODER
ref#train/077.flac#en-gb-x-rp+Annie#LOSING WORDS PYTHON THEY WHICH THIS SPOKEN
ref#train/078.flac#en-gb+m4#FROM SHARED COMPRESS BE
ref#train/079.flac#en-029+m1#INDIVIDUALS ONE MAGNITUDE EXPERIMENTS
ref#train/080.flac#en-us-nyc+m4#THE REMOVED MICROPHONE THE LABELS GIVES
ref#train/081.flac#en-029+f1#LATENCY TO MUTATION SAME
ref#train/082.flac#en-gb-x-rp+m2#ON MAGNITUDE LAYERS FOLDER DECODE BEEN SLOW
ref#train/083.flac#en-gb-scotland+m2#THE SOUNDS IT HAD
ref#train/084.flac#en-gb-x-gbclan+m7#HAS MASK THE EVEN LANGUAGE
ref#train/085.flac#en-gb-x-gbclan+michel#FEW OF MUST AND DO BY START
ref#train/086.flac#en-us-nyc+m1#DECODE IN ANOTHER WERE MEASURED DAY GENERATIONS
ref#train/087.flac#en-gb-x-gbclan+f3#TO SMALLER BY NEURAL WORKER
ref#train/088.flac#en-us+f3#SCHEDULER REDUCES THE DEVICES VOICES TRANSFORMER
ref#train/089.flac#en-gb-x-gbclan+f5#LARGE BE WHAT
ref#train/090.flac#en-029+michel#AFTER ERRORS STILL FASTER
ref#train/091.flac#en-gb-scotland+croak#TO SMALLEST FRAMES
ref#train/092.flac#en-gb-x-rp+m6#SOUNDS RECORDING OUR DO
ref#train/093.flac#en-gb+m5#HIDDEN IN SECONDS MORE FOUND FOR
ref#train/094.flac#en-029+f2#HARDWARE ISN'T VERY SOME USES STILL
ref#train/095.flac#en-gb+f3#TASKS HOURS WORST TRANSCRIPTION LOAD ALWAYS
ref#train/096.flac#en-gb-scotland+f2#SLOW DIFFERENT IN IS THE
ref#train/097.flac#en-gb+m4#TASK THE LIST REMOVED LANGUAGE
ref#train/098.flac#en-gb-x-gbclan+michel#MAGNITUDE PART LESS SO PART
ref#train/099.flac#en-029+f2#QUALITY SELECTION IN MAKES ROW ONCE WHAT
ref#train/100.flac#en-us-nyc+m2#SPEED NETWORK PRUNED PARAMETERS POPULATION
ref#train/101.flac#en-us+m7#OVER CLUSTERS THEN WITH NODE ENERGY
ref#train/102.flac#en-gb-scotland+f3#THE WEIGHTS WITHOUT HEADS CHROMOSOMES
ref#train/103.flac#en-029+f2#AND EVERY BATTERY
ref#train/104.flac#en-gb+max#WHAT SPEED GENERATION CUTS IT'S TO DOES
ref#train/105.flac#en-gb+f3#MASK DEVICE RANDOM EVERY NEXT
ref#train/106.flac#en-gb-x-gbclan+m5#NIGHT USER PRUNED IN OF SIGNAL
ref#train/107.flac#en-gb-scotland+m4#MEASURED ISN'T AS OF SOUNDS THEN CLUSTERS
ref#train/108.flac#en-gb+m4#OTHER RESTART TOOLS SIZE TO FROM
ref#train/109.flac#en-us-nyc+f1#HOW THEN THE THE NEXT SEED
ref#train/110.flac#en-029+m3#AFTER SOUNDS FASTER BUDGET PYTHON THE TO
ref#train/111.flac#en-gb+m6#QUALITY SMALLER SEND
ref#train/112.flac#en-029+croak#THE SHOULD AND CUTS
ref#train/113.flac#en-us+m6#OR BY BOTH QUIET IS IN TRAINING
ref#train/114.flac#en-gb-x-rp+m3#COST PAPER ONLY OTHER STILL
ref#train/115.flac#en-us-nyc+f4#MODEL LABELS USES DIFFERENT
ref#train/116.flac#en-029+m2#MANY BEAM IS ANOTHER TWO IN
ref#train/117.flac#en-us+m7#APPLICATIONS KEEPS SPEECH
ref#train/118.flac#en-us+Annie#PHONES AT REDUCTION FOR MUTATION
ref#train/119.flac#en-gb-scotland+m3#IN WRITE PARALLEL MICROPHONE OTHER CORE
ref#train/120.flac#en-us+m3#THE MASTER AFTER
ref#train/121.flac#en-gb-x-rp+michel#REDUCTION LANGUAGE TO LARGE GIVES
ref#train/122.flac#en-us+Annie#TEXT AND DATASET HOURS THE IS BY
ref#train/123.flac#en-gb-x-rp+Annie#DEVICES NETWORKS RUNNING JOB FEATURE CAN'T
ref#train/124.flac#en-029+m1#TO SEARCH RECOGNITION
ref#train/125.flac#en-gb-x-rp+m3#ALWAYS THE FAST
ref#train/126.flac#en-029+max#THE CREATE FEW APPLICATIONS
ref#train/127.flac#en-029+f1#CUT LOCAL USERS A WORKER
ref#train/128.flac#en-gb-x-gbclan+m2#ALSO BEEN SMALLER EVERY WITHOUT SETS
ref#train/129.flac#en-gb-scotland+michel#WHY MICROPHONE NO TRAINED THE
ref#train/130.flac#en-gb-x-gbclan+croak#IT'S WHAT ONCE ATTENTION ISN'T SO
ref#train/131.flac#en-gb-scotland+max#FRAME IN MAY REDUCTION AT COMPRESSING RECOGNISER
ref#train/132.flac#en-us-nyc+michel#PHONE AND ONE FEED
ref#train/133.flac#en-gb-scotland+m7#PHONE OF SECONDS MUTATION
ref#train/134.flac#en-gb+f2#ALGORITHM LESS OUTPUTS TO RUNNING COST
ref#train/135.flac#en-gb-x-rp+m1#THE THEM JUST HAVE WHEN IT
ref#train/136.flac#en-gb-scotland+max#MUTATION BE AGAIN RUNNING A START CROSSOVER
ref#train/137.flac#en-gb-x-gbclan+croak#SOME BETTER COST SIMPLE
ref#train/138.flac#en-us+m2#INDIVIDUAL A AN MODELS TENSORS VALUE WORKER
ref#train/139.flac#en-029+f2#DON'T FAST CLEAR SMALLEST
ref#train/140.flac#en-us+f3#AFTER HOURS PHONE HAVE
ref#train/141.flac#en-us+f3#INPUT ALL ATTENTION
ref#train/142.flac#en-gb+max#THE JOBS NEXT FASTER IMPROVES
ref#train/143.flac#en-us-nyc+m6#FOR ACCURACY ON THE
ref#train/144.flac#en-029+f3#START SAMPLE BY ISN'T MOST
ref#train/145.flac#en-us-nyc+croak#WEIGHT TO COMPRESSING TO BATCH ALL VALUES
ref#train/146.flac#en-us-nyc+Annie#SAME ONCE NETWORKS OVER SIGNAL
ref#train/147.flac#en-us+m6#BEEN MOST YOUR WHO IS IS PARAMETER
ref#train/148.flac#en-029+f1#LEARNING SPEED DO MEASURE ALGORITHMS PARAMETER
ref#train/149.flac#en-gb-x-rp+m4#WORST THE NIGHT NOW BUDGET ANOTHER
ref#train/150.flac#en-gb-scotland+michel#OR HEAR ARRAY
ref#train/151.flac#en-gb-x-rp+f3#ONCE GRID THE LOSES
ref#train/152.flac#en-gb-x-gbclan+croak#COULD FROM TRANSFORMER HEAD IT'S
ref#train/153.flac#en-029+m1#LASTS PRUNING SIMPLE
ref#train/154.flac#en-029+m4#PYTHON TO OVER THEM EVEN NOT ISN'T
ref#train/155.flac#en-gb-scotland+m4#OF SHOULD THE
ref#train/156.flac#en-029+f4#COLUMNS DO WHEN SAVES
ref#train/157.flac#en-us+m7#ALL WRITES WAS OLD JOBS
ref#train/158.flac#en-gb+m2#INPUTS THE SLOW
ref#train/159.flac#en-gb-scotland+michel#FROM PARALLEL PHONEMES HAD SPOKEN SENTENCE
ref#train/160.flac#en-us-nyc+m6#UNDER RESEARCHERS MODELS
ref#train/161.flac#en-gb-scotland+f4#COMPRESSING BY AS IN
ref#train/162.flac#en-us+f1#PRUNE QUANTIZATION LOADS WORD
ref#train/163.flac#en-gb+m2#PROCESSORS DO CHOOSE
ref#train/164.flac#en-us+m6#YOUR GIVES STILL GREEDY SOUNDS WHERE
ref#train/165.flac#en-gb-scotland+f5#THE SPEECH EACH DATASET GRID CHILDREN RECOGNISER
ref#train/166.flac#en-us-nyc+f3#APPLICATIONS US ARE IT RANDOM FAST FILE
ref#train/167.flac#en-gb-x-gbclan+Annie#LOSES UTTERANCES PHONES AND
ref#train/168.flac#en-gb+f3#RECOGNITION MORE MAGNITUDE COMPRESS LISTENS
ref#train/169.flac#en-gb-scotland+croak#MAY THE SO SENTENCE THE POWER
ref#train/170.flac#en-029+f1#LAYER LIST TWO NUMBER COMPRESS AT
ref#train/171.flac#en-gb-scotland+f5#MODEL TO THAN IS SEARCH DO
ref#train/172.flac#en-029+f1#VERY AS TRAIN THE IF A HARD
ref#train/173.flac#en-gb+m5#CRASH CLEAR STOPS
ref#train/174.flac#en-us+Annie#TESTS LAYERS TEST CHILDREN WORKERS AND
ref#train/175.flac#en-029+m1#ITS THE TENSORS
ref#train/176.flac#en-gb+m5#SIMPLE LOSES THEN UTTERANCE SMALLER
ref#train/177.flac#en-gb-x-gbclan+m5#USERS THE CAN
ref#train/178.flac#en-gb-x-gbclan+f1#NOT THIS WHEN SOUND DEVICES FOUND
ref#train/179.flac#en-gb+m7#THIS FINISH TENSOR DOES WE TASK
ref#train/180.flac#en-us+m2#NIGHT CLUSTERS SETS INDIVIDUAL
ref#train/181.flac#en-029+m7#PARENT MORE OF TOOL
ref#train/182.flac#en-gb-x-gbclan+Annie#BOTH PROCESSOR IS
ref#train/183.flac#en-gb-x-rp+m6#HOW OF DAY WORKER IN A SLOW
ref#train/184.flac#en-029+f5#HAVE MICROPHONE NO OTHER ACOUSTIC
ref#train/185.flac#en-us-nyc+m6#AGAIN IN FROM LESS RUNNING JOB
ref#train/186.flac#en-gb+m4#INDIVIDUAL NOW IT'S GROW A PRUNE POWER
ref#train/187.flac#en-gb-x-rp+m2#IT'S REMOVES POWER
ref#train/188.flac#en-us+f5#WRITES NEURONS PARENT FEW WHERE
ref#train/189.flac#en-029+f5#GRADIENTS TOOLS QUANTIZATION WORST NETWORKS WHEN THE
ref#train/190.flac#en-029+m1#EVEN FILES RANDOM
ref#train/191.flac#en-us+m3#RECOGNISER ANOTHER TRAINED PHONES IMPROVE
ref#train/192.flac#en-us-nyc+f5#AFTER THESE NODES WHICH
ref#train/193.flac#en-us+m2#MOST BATTERY UNDER FEATURE BY OF PHONEMES
ref#train/194.flac#en-us+m6#EMBEDDED CHROMOSOME BLOCKS THE THE
ref#train/195.flac#en-029+m4#SETS TO TO PHONES A EACH
ref#train/196.flac#en-gb-scotland+m2#FOR TO THE RESEARCHERS KEEP RANK
ref#train/197.flac#en-gb-x-rp+croak#IN THE HIGH LETTERS SENDS
ref#train/198.flac#en-gb-x-rp+m1#NOW HAVE MANY IS
ref#train/199.flac#en-us-nyc+m6#WHAT TRAINING OUTPUT COMPRESSED CHOOSE
ref#train/200.flac#en-us+f2#INDIVIDUAL WILL MEASURE AND
ref#train/201.flac#en-gb-x-rp+m4#MAGNITUDE FILES ONLY US
ref#train/202.flac#en-us-nyc+croak#SCHEDULER THE RUN TO ITS SECONDS
ref#train/203.flac#en-gb+f2#US WORKER MUTATION MEASURED IT
ref#train/204.flac#en-gb-scotland+f3#THE SMALL JUST CHILD
ref#train/205.flac#en-gb-x-gbclan+michel#ITS SPOKEN OTHER WHY BEEN RESUME IF
ref#train/206.flac#en-us+f2#GROW OR HAS EDGE CHECKPOINT
ref#train/207.flac#en-gb+Annie#QUIET ENERGY A THE FROM CHROMOSOME
ref#train/208.flac#en-029+m5#LAYER SLOWER ALIGNMENT HEAR FIRST LESS THEN
ref#train/209.flac#en-gb-x-gbclan+croak#TEST REDUCE THE LOSE RECOGNISER AND
ref#train/210.flac#en-gb-x-gbclan+m5#FEW THAT OF
ref#train/211.flac#en-gb-scotland+m7#HOURS BUILD HERE OF UNDER
ref#train/212.flac#en-us+m4#ALGORITHMS ACCURACY OUR ROBUST CHILD CREATES
ref#train/213.flac#en-us-nyc+f2#SOUNDS HOW BEST
ref#train/214.flac#en-gb+m7#A AUDIO GRID WAS ONLY NUMBER
ref#train/215.flac#en-gb-x-gbclan+m7#LEARNING ROBUST EXPERIMENT OR HERE PART EXPERIMENTS
ref#train/216.flac#en-029+croak#THE BATCH TRAINED SET
ref#train/217.flac#en-gb+f2#MICROPHONE COMPUTE NODES A A CREATES
ref#train/218.flac#en-gb-x-gbclan+f5#HAVE THAN TEXT TASK DON'T
ref#train/219.flac#en-gb+croak#MORE SHRINK LOSS SIZE ABOUT OUR
ref#train/220.flac#en-gb+f3#LATENCY ALGORITHM EACH IT'S HAD APPLICATIONS JUST
ref#train/221.flac#en-gb-x-gbclan+m2#IS AND CORE
ref#train/222.flac#en-gb-x-rp+f2#UTTERANCES ONCE BE BEST IMPROVE
ref#train/223.flac#en-gb-x-rp+f4#THAT SLOWER THE IN LISTEN NODES
ref#train/224.flac#en-029+Annie#THE ACOUSTIC QUIET OF PHONES DOES HIDDEN
ref#train/225.flac#en-gb-x-rp+m5#DON'T FEED NOISE LISTEN ENERGY TO BEAM
ref#train/226.flac#en-us-nyc+max#PAPER BIG RESEARCHERS PRUNED MANY SEND PARENTS
ref#train/227.flac#en-us+Annie#AGAIN COLUMNS VOICE THERE REMOVES ENCODER
ref#train/228.flac#en-029+croak#HAS ARRAY NOT MAGNITUDE WHO
ref#train/229.flac#en-us+m1#THEM HARD JOBS IS JOBS SOME
ref#train/230.flac#en-us-nyc+michel#ON UTTERANCES ALL A CAN THE HAS
ref#train/231.flac#en-gb-x-gbclan+m6#AN USER IN
ref#train/232.flac#en-gb-scotland+f4#AND EDGE LIST THE
ref#train/233.flac#en-029+m5#UTTERANCES SIMPLE THERE ABOUT ARE LIST
ref#train/234.flac#en-us+m2#WHY OF ABOUT CAN INDIVIDUAL AND HERE
ref#train/235.flac#en-gb-x-rp+m4#TRAINING AGAIN THE
ref#train/236.flac#en-029+m3#IT'S THE CHILDREN A CAN CHROMOSOMES NEURONS
ref#train/237.flac#en-us-nyc+f2#WHY CLUSTERS TO HEAR DISTILLATION
ref#train/238.flac#en-029+Annie#FINISH PYTHON MEASURE SIGNAL ONLY NOT LESS
ref#train/239.flac#en-gb-x-rp+m4#ABOUT HALF REMOVES RESEARCH OUTPUTS IS FOLDER
ref#train/240.flac#en-029+m1#IS UNITS FINISHED IN IT'S EACH STOPS
ref#train/241.flac#en-029+m1#SAME THE SENTENCE SHOULD BATCHES EPOCHS
ref#train/242.flac#en-gb+m5#LAYERS RUN ANOTHER
ref#train/243.flac#en-us-nyc+f3#UTTERANCES MASK GENETIC WHILE HAS MINUTES EDGE
ref#train/244.flac#en-us+f3#CHILD LETTERS NEW EACH APPLICATIONS SENTENCE
ref#train/245.flac#en-gb-x-gbclan+f4#SEED OF COST
ref#train/246.flac#en-029+f5#OR DISTILLATION TIME IN
ref#train/247.flac#en-gb-scotland+michel#PHONE LISTENS KEEP HIGH LISTEN POWER
ref#train/248.flac#en-gb-scotland+Annie#BE BEEN ON CHOOSE QUEUE EACH DEVICE
ref#train/249.flac#en-gb-x-gbclan+f1#THE THE LOAD MAKES COULD COST COMPRESS
ref#train/250.flac#en-029+m7#WERE THEN HARDER BLOCK IT A
ref#train/251.flac#en-029+m7#SENTENCES VALUES SPARSE LABELS FIRST
ref#train/252.flac#en-us+f2#SOME JOB OVER PRUNE OF
ref#train/253.flac#en-gb+michel#TEST A WHEN REMOVED SEARCHES
ref#train/254.flac#en-gb-x-gbclan+m1#TO LABELS EACH EXPERIMENT HOW
ref#train/255.flac#en-gb+m6#EXPERIMENT FILE SHARED CHROMOSOMES ONLY JUST
ref#train/256.flac#en-gb+f4#IS BATCHES IMPROVES LIST
ref#train/257.flac#en-us-nyc+m3#SOME DECODING MAY
ref#train/258.flac#en-us-nyc+m7#WORKER SCORES SAVE
ref#train/259.flac#en-us+m6#QUALITY FRAMES SPOKEN SEND USER REDUCES ROWS
ref#train/260.flac#en-us+michel#HARDWARE NEXT USERS BY DECODE
ref#train/261.flac#en-gb+m3#MAGNITUDE PARAMETER OF CHILDREN
ref#train/262.flac#en-gb-scotland+Annie#TWO GRADIENTS THEM
ref#train/263.flac#en-gb-x-gbclan+f2#IN THIS BUT IMPROVE NEXT IN ON
ref#train/264.flac#en-gb-x-gbclan+Annie#JUST TIME THE PARAMETER WE KEEP
ref#train/265.flac#en-us-nyc+m7#THE IT DO
ref#train/266.flac#en-us+m6#VERY BATCH TO ONLY MUST HOURS
ref#train/267.flac#en-gb-scotland+f4#CLUSTERS THE HAD NO LATENCY
ref#train/268.flac#en-us-nyc+michel#THEN RESULT HIGH HAVE
ref#train/269.flac#en-gb+michel#JOBS FROM A
ref#train/270.flac#en-gb-scotland+f3#ON ONCE ONLY TO DEVICES THE CUTS
ref#train/271.flac#en-029+m5#CRASH TO RESULT LESS A MAKES WILL
ref#train/272.flac#en-gb+m2#CORES AN FRAME UNDER THEY SAVES FINISH
ref#train/273.flac#en-029+f4#THE BY GIVES NEEDS ONLY TOOLS
ref#train/274.flac#en-gb-x-rp+m6#BEFORE NEEDS IS
ref#train/275.flac#en-gb-x-gbclan+Annie#STILL WHERE PART A INDIVIDUAL ALSO CAN
ref#train/276.flac#en-gb+michel#THE ALIGNMENT STILL NOISE BLOCK SCORE
ref#train/277.flac#en-029+m1#OUR SETS CREATES RANK ARE AFTER HERE
ref#train/278.flac#en-us+max#MOBILE COULD SOME
ref#train/279.flac#en-us-nyc+m1#PROCESSORS RESUME THAT
