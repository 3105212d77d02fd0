// Whole-file reading and atomic file writing, shared by the data, plot and
// checkpoint writers (JSON, CSV, IDX, PNG, checkpoints).
//
// "Atomic" means: the bytes go to PATH.tmp first, which is flushed to the
// disk (fsync) and then renamed onto PATH (atomic on POSIX within one file
// system), and the folder is synced so that the rename itself survives a
// power cut. A reader never sees a half-written or empty file under PATH; a
// failure at any point removes PATH.tmp and leaves PATH as it was.
// Design: docs/design.md#data
#pragma once

#include <string>
#include <vector>

namespace am::data {

// The whole content of a file. Throws am::Error "cannot open PATH: reason"
// ("PATH is a directory, not a file" for a folder).
std::string read_file(const std::string& path);

// Throws am::Error unless `path` can name a file to write: not empty, not a
// folder, in a folder that exists. `what` names it in the message (an option
// such as "--out", or "checkpoint").
void check_writable_path(const std::string& path, const std::string& what);

// Several output files that appear together or not at all (as far as a
// crash allows): add() writes each to PATH.tmp and syncs it, commit() renames
// them all onto their paths in order. Until commit() nothing under any PATH
// has changed, so an output may be an input of the same run (finetune --out
// equal to --model). Temporaries not committed are removed by the destructor.
class StagedFiles {
public:
    StagedFiles() = default;
    ~StagedFiles();
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;

    // Writes `bytes` to PATH.tmp (fsync'd); throws am::Error naming PATH on
    // failure, with PATH.tmp removed.
    void add(const std::string& path, const std::string& bytes);
    // Renames every PATH.tmp onto its PATH and syncs their folders.
    void commit();

private:
    std::vector<std::string> paths_;  // committed up to done_
    std::size_t done_ = 0;
};

// One file: StagedFiles with a single add() and commit().
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace am::data
