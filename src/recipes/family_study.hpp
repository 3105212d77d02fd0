// The family study as a program runs it: the fine-tuning methods on cases of
// the closed-form family (finetune/study.hpp runs and judges one), over
// methods x bases x seeds, resumable. `amflow study` parses its options into
// these settings and calls run_family_study.
//
// In out_dir:
//   results.jsonl  one JSON line per run, appended as soon as the run ends; a
//                  study started again with the same settings runs only what
//                  is missing (a damaged line is a one-line error naming the
//                  file and the line)
//   bases/         the network bases, pretrained once per case and reused
//   samples/       the evaluation samples of am on the exact base, seed 0
//   table.md       the summary and every run (finetune::study_table) with the
//                  TV floor of eval_n exact samples; rewritten after every run
//   grid.png       per case, the exact tilt against those samples
// Design: docs/design.md#the-family-study
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "finetune/study.hpp"

namespace am::recipes {

struct FamilyStudySettings {
    std::uint64_t family_seed = 2;
    std::vector<int> cases;                // case numbers of the family
    bool ring = false;                     // the default ring case too
    std::vector<std::string> methods = {"am", "am-constant", "basic-am", "bptt"};
    std::vector<std::string> bases = {"exact", "network"};
    int seeds = 3;                         // of am; the other methods run one
    finetune::StudySettings run;           // iterations scale, evaluation samples, pretraining steps, lr schedule
    std::string out_dir = "study";
    std::string command_line;              // how to rerun it, written at the top of table.md
};

// Runs every (case, method, base, seed) that out_dir/results.jsonl lacks, a
// progress line per run on stderr; returns all the results, old and new.
std::vector<finetune::StudyResult> run_family_study(const FamilyStudySettings& settings);

}  // namespace am::recipes
