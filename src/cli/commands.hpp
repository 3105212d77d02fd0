// The amflow subcommands. Each cmd_*.cpp defines one register_* function
// that adds its subcommand (options + callback) to the app.
// Design: docs/design.md#command-line
#pragma once

#include <CLI/CLI.hpp>

namespace am::cli {

void register_info(CLI::App& app);
void register_family(CLI::App& app);
void register_study(CLI::App& app);
void register_pretrain(CLI::App& app);
void register_sample(CLI::App& app);
void register_finetune(CLI::App& app);
void register_eval(CLI::App& app);
void register_demo(CLI::App& app);
void register_train_classifier(CLI::App& app);
void register_mnist_demo(CLI::App& app);

inline void register_commands(CLI::App& app) {
    register_pretrain(app);
    register_sample(app);
    register_finetune(app);
    register_eval(app);
    register_demo(app);
    register_train_classifier(app);
    register_mnist_demo(app);
    register_family(app);
    register_study(app);
    register_info(app);
}

}  // namespace am::cli
