#include "fs/durable.hpp"

#include <cerrno>
#include <string>
#include <system_error>
#include <fcntl.h>
#include <unistd.h>

namespace modelhost::fs {

namespace fsys = std::filesystem;

namespace {

[[noreturn]] void fail(const char* what, const fsys::path& path, int error) {
    throw std::system_error(error, std::generic_category(), std::string(what) + " " + path.string());
}

// Opens `path` only to sync it (a read-only descriptor may be synced on Linux), and closes it again.
void sync_path(const fsys::path& path, bool folder) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
    if (fd < 0) fail("cannot open to sync", path, errno);
    int rc = ::fsync(fd);  // the mtime too: a mirrored file's ETag is made from it
    int error = errno;
    ::close(fd);
    if (rc != 0) fail("cannot sync", path, error);
}

}  // namespace

void sync_data(int fd, const fsys::path& what) {
    if (::fdatasync(fd) != 0) fail("cannot sync", what, errno);
}

void sync_file(const fsys::path& path) { sync_path(path, false); }

void sync_folder(const fsys::path& folder) { sync_path(folder.empty() ? fsys::path(".") : folder, true); }

void install(const fsys::path& tmp, const fsys::path& dest) {
    std::error_code ec;
    const bool folder = fsys::is_directory(tmp, ec);
    sync_path(tmp, folder);
    if (::rename(tmp.c_str(), dest.c_str()) != 0) fail("cannot rename into place", dest, errno);
    sync_folder(dest.parent_path());
    if (tmp.parent_path() != dest.parent_path()) sync_folder(tmp.parent_path());
}

void install_in_work_folder(const fsys::path& tmp, const fsys::path& dest) {
    sync_path(tmp, false);
    if (::rename(tmp.c_str(), dest.c_str()) != 0) fail("cannot rename into place", dest, errno);
}

namespace {

// `bytes` under `dest` through "dest.tmp-PID", synced before the rename; nothing is left under the temporary name.
void write_and_rename(const fsys::path& dest, std::string_view bytes) {
    fsys::path tmp = dest;
    tmp += ".tmp-" + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot write", tmp, errno);
    int error = 0;
    for (std::size_t done = 0; done < bytes.size() && error == 0;) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno != EINTR) error = errno;
        if (n > 0) done += static_cast<std::size_t>(n);
    }
    if (error == 0 && ::fdatasync(fd) != 0) error = errno;
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error != 0) {
        ::unlink(tmp.c_str());
        fail("cannot write", tmp, error);
    }
    if (::rename(tmp.c_str(), dest.c_str()) != 0) {
        error = errno;
        ::unlink(tmp.c_str());
        fail("cannot rename into place", dest, error);
    }
}

}  // namespace

void write_in_work_folder(const fsys::path& dest, std::string_view bytes) { write_and_rename(dest, bytes); }

void write_atomically(const fsys::path& dest, std::string_view bytes) {
    write_and_rename(dest, bytes);
    sync_folder(dest.parent_path());
}

void FolderSyncs::sync(const fsys::path& folder) {
    std::unique_lock g(m_);
    Folder& f = folders_[folder];
    ++f.users;
    const std::uint64_t need = f.started + 1;  // one running now began before this call: it may miss its rename
    while (f.done < need) {
        if (f.running) {
            cv_.wait(g);
            continue;
        }
        f.running = true;
        const std::uint64_t n = ++f.started;
        g.unlock();
        std::exception_ptr error;
        try {
            sync_(folder);
        } catch (...) {
            error = std::current_exception();
        }
        g.lock();
        f.running = false;
        f.done = n;
        if (error) f.error = error;
        else f.succeeded = n;
        cv_.notify_all();
    }
    std::exception_ptr error = f.succeeded >= need ? nullptr : f.error;
    if (--f.users == 0) folders_.erase(folder);  // (no other call holds `f`)
    g.unlock();
    if (error) std::rethrow_exception(error);
}

std::string advice(int error) {
    switch (error) {
        case ENOSPC:
        case EDQUOT: return " (the file system is full: free space, then run it again)";
        case EROFS: return " (the file system is mounted read-only)";
        case EIO: return " (the device reported an I/O error: see dmesg; nothing was installed)";
        case EMFILE:
        case ENFILE: return " (out of file descriptors: raise the limit, ulimit -n or LimitNOFILE=)";
        case EACCES:
        case EPERM: return " (permission denied: check the owner and mode of the folder)";
        default: return {};
    }
}

}  // namespace modelhost::fs
