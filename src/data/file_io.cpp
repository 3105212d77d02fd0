// Design: docs/design.md#data
#include "data/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/tensor.hpp"

namespace am::data {

namespace {

bool is_directory(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The folder part of a path ("." for a bare file name).
std::string folder_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// fsync of a folder, so that a rename inside it is on the disk. Best effort:
// some file systems refuse to open or sync a folder, which is no error.
void sync_folder(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Writes all of `bytes` to `tmp` and fsyncs it; on failure removes `tmp` and
// throws naming `path`, the file the caller asked for.
void write_synced(const std::string& tmp, const std::string& path, const std::string& bytes) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw Error("cannot write " + path + ": cannot create " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    int err = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        done += std::size_t(n);
    }
    if (err == 0 && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
        std::remove(tmp.c_str());
        throw Error("cannot write " + path + ": writing " + tmp + " failed after " + std::to_string(done) + " of " +
                    std::to_string(bytes.size()) + " bytes: " + std::strerror(err));
    }
}

}  // namespace

std::string read_file(const std::string& path) {
    if (is_directory(path)) throw Error(path + " is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw Error("error while reading " + path);
    return text.str();
}

void check_writable_path(const std::string& path, const std::string& what) {
    if (path.empty()) throw Error(what + ": the file name is empty");
    if (path.back() == '/' || is_directory(path))
        throw Error(what + " " + path + ": is a directory, expected a file name");
    const std::string dir = folder_of(path);
    if (!is_directory(dir)) throw Error(what + " " + path + ": the folder " + dir + " does not exist");
}

StagedFiles::~StagedFiles() {
    for (std::size_t i = done_; i < paths_.size(); ++i) std::remove((paths_[i] + ".tmp").c_str());
}

void StagedFiles::add(const std::string& path, const std::string& bytes) {
    check_writable_path(path, "cannot write");
    write_synced(path + ".tmp", path, bytes);
    paths_.push_back(path);
}

void StagedFiles::commit() {
    for (; done_ < paths_.size(); ++done_) {
        const std::string& path = paths_[done_];
        const std::string tmp = path + ".tmp";
        if (std::rename(tmp.c_str(), path.c_str()) != 0) {
            const std::string reason = std::strerror(errno);
            throw Error("cannot rename " + tmp + " to " + path + ": " + reason);  // the destructor removes tmp
        }
        sync_folder(folder_of(path));
    }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    StagedFiles out;
    out.add(path, bytes);
    out.commit();
}

}  // namespace am::data
