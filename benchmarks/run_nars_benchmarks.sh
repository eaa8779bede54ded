#!/usr/bin/env bash
# Reproduces the NARS results under benchmarks/results/ (issue 3). About 40 minutes on 2 cores.
# Usage: bash benchmarks/run_nars_benchmarks.sh [part ...]   default parts: c10 analog predictor ablation timing
# run by name: cost-growth suite predictors naslib paper explore early-stopping latency fcnet (issue 7, about 1.5 hours together on 2 cores),
# fbnetv3-flops digits gpu (imagenet plugin), darts (NASLib and the imagenet plugin)
# Benchmark tables are read from $NARS_DATA_DIR (default ../shared/data); nothing is copied here.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${NARS_DATA_DIR:-../shared/data}
C10="csv:$DATA/nb201/cifar10_test_acc_200ep.csv"
OUT=benchmarks/results
PARTS=${*:-c10 analog predictor ablation timing}

for part in $PARTS; do
  case $part in
    c10)  # NB201 CIFAR-10 200-epoch test accuracy, 20 seeds x 100 queries
      nars compare -b "$C10" --optimizers nars,rea,rs,ls,bananas --seeds 20 --budget 100 \
        --out $OUT/nb201-c10 --no-progress ;;
    analog)  # joint architecture x training-method search for analog hardware after 1 day of drift
      nars compare -b nb201-analog -B target=analog_1d --seeds 20 --budget 100 --out $OUT/nb201-analog-1d --no-progress \
        --optimizers 'nars,rea,rs,ls,bananas,nars-arch-standard=nars(fixed_recipe=training=standard),nars-arch-told-best=nars(fixed_recipe=training=analog)' ;;
    predictor)  # Kendall tau / Spearman / top-5% precision with and without pretraining
      nars predictor-eval -b "$C10" --sizes 8,16,32,64,128,256 --seeds 5 --out $OUT/predictor-c10 --no-progress
      nars predictor-eval -b nb201-analog -B target=analog_1d --sizes 8,16,32,64,128,256 --seeds 5 \
        --out $OUT/predictor-analog-1d --no-progress ;;
    predictors)  # issue 14: every registered predictor side by side, and inside NARS (C-10, 20 seeds x 100)
      nars predictor-eval -b "$C10" --predictors fbnetv3,gp,rf,lgbm --sizes 8,16,32,64,128,256 --seeds 5 \
        --out $OUT/predictors/c10 --no-progress
      nars predictor-eval -b nb201-analog -B target=analog_1d --predictors fbnetv3,gp,rf,lgbm \
        --sizes 8,16,32,64,128,256 --seeds 5 --out $OUT/predictors/analog-1d --no-progress
      nars predictor-eval -b fcnet -B dataset=protein_structure --predictors fbnetv3,gp,rf,lgbm \
        --sizes 8,16,32,64,128,256 --seeds 5 --out $OUT/predictors/fcnet-protein_structure --no-progress
      nars compare -b "$C10" --seeds 20 --budget 100 --out $OUT/predictors/nars-c10 --no-progress \
        --optimizers 'nars,nars-gp=nars(predictor=gp),nars-rf=nars(predictor=rf),nars-lgbm=nars(predictor=lgbm)'
      # zero-cost proxies: ours against the published ones, then as free statistics (synflow of all
      # 15,625 cells is computed once, about 18 minutes on one core, and cached)
      python benchmarks/zero_cost.py --out $OUT/zero-cost
      nars predictor-eval -b "$C10" -B zero_cost=synflow --predictors fbnetv3,gp,rf,lgbm --sizes 8,16,32,64,128,256 \
        --seeds 5 --out $OUT/predictors/c10-synflow --no-progress ;;
    ablation)  # the defaults of the settings the paper leaves open, 10 seeds each
      variants='nars,batch10=nars(batch=10;init_batch=20),no-local=nars(local_fraction=0),always-predicted=nars(local_pick=predicted),zscore-target=nars(predictor={"target": "standard"})'
      nars compare -b "$C10" --optimizers "$variants" --seeds 10 --budget 100 --out $OUT/ablation-c10 --no-progress
      nars compare -b nb201-analog -B target=analog_1d --optimizers "$variants" --seeds 10 --budget 100 \
        --out $OUT/ablation-analog-1d --no-progress ;;
    timing)  # issue 25: wall time of 100-query searches as whole `nars search` processes and in one process,
      # idle and beside a busy loop per core, cold and warm pretraining cache, against TPE; NARS by phase
      # (issue 14's in-process tables: $OUT/timing/before-f3ce118 and $OUT/timing/issue14)
      python benchmarks/timing.py --benchmarks "$C10,nb201-analog" --optimizers nars,optuna-tpe,rea --profile \
        --out $OUT/timing
      # issue 27's NARS (its companion trees) beside TPE and BANANAS
      python benchmarks/timing.py --optimizers nars,optuna-tpe,bananas --profile --out $OUT/timing/issue27 ;;
    cost-growth)  # issue 27: seconds per query against evaluations up to 1,000 queries (needs `nars hebo install`)
      python benchmarks/cost_growth.py --out $OUT/cost-growth
      # the second sitting: NARS's cheaper companion against its first companion, BANANAS and TPE
      python benchmarks/cost_growth.py --out $OUT/cost-growth/second-sitting --cap optuna-tpe=100 --optimizers \
        'nars,first-companion=nars:companion.n_models=5;companion.rounds=200;companion.learning_rate=0.05;companion.screen_rounds=all;local_parents=3,bananas,optuna-tpe' ;;
    suite)  # issue 16: the default suite (every built-in benchmark that runs here), one leaderboard;
      # HEBO (minutes per run; needs `nars hebo install`) 5 seeds, the others 10
      nars suite --optimizers nars,smac,hebo,bananas,optuna-tpe,ls,rea,rs --seeds 10,hebo=5 --out $OUT/suite --no-progress
      # issue 27: NARS rerun after its search changed, joined to the committed peers without rerunning them
      nars suite --optimizers nars --seeds 10 --out $OUT/suite-nars27 --no-progress
      # issue 27: HEBO's seeds 5-9 (about 4 CPU hours), pooled with its seeds 0-4
      nars suite --optimizers hebo --seeds 5 --first-seed 5 --out $OUT/suite-hebo-seeds5-9 --no-progress
      nars suite --out $OUT/suite --leaderboard-only --merge $OUT/suite-nars27 --merge $OUT/suite-hebo-seeds5-9
      # issue 27: NARS on C-10, 20 seeds x 100 queries, beside NARS as it was before (its MLP alone, rounds of 5,
      # neighbourhoods of the 3 best)
      nars compare -b "$C10" --optimizers 'nars,nars-before=nars(companion=none;batch=5;local_parents=3)' --seeds 20 --budget 100 \
        --out $OUT/c10-nars27 --no-progress ;;
    naslib)  # not in the default parts: needs NASLib installed (DEVELOPERS.md); NASLib's optimizers beside ours
      nars compare -b "$C10" --optimizers nars,rea,naslib:re,naslib:rs,naslib:npenas,naslib:bananas --seeds 5 --budget 100 \
        --out $OUT/naslib-c10 --no-progress
      # NASLib's predictors beside ours on the same splits (issue 15)
      nars predictor-eval -b "$C10" --predictors fbnetv3,naslib:xgb,naslib:lgb,naslib:rf,naslib:gp,naslib:ngb \
        --sizes 8,16,32,64,128,256 --seeds 5 --out $OUT/predictors/c10-naslib --no-progress ;;
    darts)  # issue 28: DARTS and GDAS (NASLib) against NARS, REA and RS with real training on digits, equal
      # seconds of training (the supernet's count); needs NASLib and the imagenet extra in one environment
      # (DEVELOPERS.md); about 25 minutes on 2 cores
      nars compare --evaluator train --space nb201-digits --dataset digits -E test=true \
        --optimizers nars,rea,rs,naslib:darts,naslib:gdas --seeds 5 --budget-seconds 90 --workers 2 \
        --out $OUT/darts-digits --no-progress ;;
    paper)  # issue 7: the NB201 paper's 12,000-second protocol on real tables (nb201-paper)
      nars compare -b nb201-paper --seeds 500 --budget-seconds 12000 --out $OUT/nb201-paper/rs-rea-500 --no-progress \
        --optimizers 'rs,rea,rea-nb201-code=rea(tournament_replace=true;repeats=evaluate)'
      nars compare -b nb201-paper --seeds 50 --budget-seconds 12000 --out $OUT/nb201-paper/all-50 --no-progress \
        --optimizers 'nars,nars-explore=nars(explore=1),rea,rs,bananas,ls,optuna-tpe'
      nars compare -b nb201-paper -B graph_statistics=false --seeds 30 --budget-seconds 12000 --no-progress \
        --optimizers 'nars,nars-explore=nars(explore=1)' --out $OUT/nb201-paper/no-wiring-30
      nars compare -b nb201-schedule --seeds 50 --budget-seconds 30000 --out $OUT/nb201-schedule/six-50 --no-progress \
        --optimizers nars,rea,rs,ls,bananas,optuna-tpe ;;
    explore)  # NARS explore=1 on the benchmarks whose default-NARS rows are committed (compare with those rows)
      E=$OUT/explore-check
      nars compare -b nb201-latency -B device=pixel3 -c 'latency[pixel3] <= 5' --seeds 10 --budget 100 \
        --optimizers 'nars-explore=nars(explore=1)' --out $E/nb201-latency-pixel3-5ms --no-progress
      nars compare -b nb201-analog -B target=analog_1d --seeds 20 --budget 100 \
        --optimizers 'nars-explore=nars(explore=1)' --out $E/nb201-analog-1d --no-progress
      for d in protein_structure naval_propulsion parkinsons_telemonitoring slice_localization; do
        nars compare -b fcnet -B dataset=$d --seeds 10 --budget 50 \
          --optimizers 'nars-explore=nars(explore=1)' --out $E/fcnet-$d --no-progress
      done
      nars compare -b "csv:$DATA/nb201/cifar10_test_acc_200ep.csv" -B graph_statistics=true --seeds 20 --budget 100 \
        --optimizers 'nars,nars-explore=nars(explore=1)' --out $OUT/nb201-c10-wiring --no-progress ;;
    early-stopping)  # issue 7: NARS's rank-correlation early stopping on 200 real 200-epoch curves
      python benchmarks/early_stopping.py --out $OUT/early-stopping ;;
    fbnetv3-flops)  # imagenet plugin: analytical FLOPs/params vs published FBNetV3-A..G and flop_counter
      python benchmarks/fbnetv3_flops.py --out $OUT/fbnetv3-flops ;;
    digits)  # imagenet plugin: NARS vs random search with real training on digits (about 20 min here)
      python benchmarks/digits_search.py --budget 12 --seeds 2 --workers 2 --out $OUT/digits ;;
    gpu)  # imagenet plugin: training throughput on a CUDA GPU (fp32 vs AMP + channels-last)
      python benchmarks/gpu_throughput.py --out $OUT/gpu-throughput ;;
    latency)  # issue 7: latency-constrained NB201 comparison, accuracy-latency Pareto fronts, FBNet latency predictor
      nars compare -b nb201-latency -B device=pixel3 -c 'latency[pixel3] <= 5' --seeds 10 --budget 100 \
        --optimizers nars,rea,rs,ls,bananas,optuna-tpe --out $OUT/nb201-latency/compare-pixel3-5ms --no-progress
      python benchmarks/pareto.py --device pixel3 --budgets 3,5,8,12,20 --seeds 10 --budget 100 --out $OUT/nb201-latency
      python benchmarks/fbnet_latency.py --out $OUT/fbnet-latency ;;
    fcnet)  # issue 7: FC-Net (joint MLP architecture + numeric recipe), its four data sets
      for d in protein_structure naval_propulsion parkinsons_telemonitoring slice_localization; do
        nars compare -b fcnet -B dataset=$d --seeds 10 --budget 50 \
          --optimizers nars,rea,rs,ls,bananas,optuna-tpe --out $OUT/fcnet-$d --no-progress
      done ;;
    *) echo "unknown part $part (c10 analog predictor predictors ablation timing cost-growth suite naslib paper explore early-stopping fbnetv3-flops digits gpu latency fcnet)" >&2; exit 2 ;;
  esac
done
