// UvEnv files: plain synchronous POSIX calls, retried on EINTR.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/uv_env_internal.h"

namespace cairn::uv_internal {
namespace {

// One write() call moves at most this much; larger appends loop.
constexpr size_t kWriteChunkBytesMax = size_t{1} << 30;

int OpenRetrying(const std::string& path, int flags, mode_t mode = 0) {
  while (true) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status Append(std::string_view data) override {
    if (fd_ < 0) return ClosedError("append to");
    while (!data.empty()) {
      const ssize_t written = ::write(fd_, data.data(), std::min(data.size(), kWriteChunkBytesMax));
      if (written < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(written));
    }
    return OkStatus();
  }

  Status Sync() override {
    if (fd_ < 0) return ClosedError("sync");
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return ErrnoError("fdatasync", path_, errno);
    }
    return OkStatus();
  }

  Status Close() override {
    if (fd_ < 0) return ClosedError("close");
    const int fd = fd_;
    fd_ = -1;
    // On Linux the descriptor is released even when close() reports EINTR; retrying could
    // close a descriptor another thread has just opened.
    if (::close(fd) != 0 && errno != EINTR) return ErrnoError("close", path_, errno);
    return OkStatus();
  }

 private:
  Status ClosedError(std::string_view what) const {
    return Status::FailedPrecondition("cannot " + std::string(what) + " '" + path_ + "': file is closed");
  }

  std::string path_;
  int fd_;  // -1 once closed
};

Status ReadAll(int fd, const std::string& path, std::string& out) {
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) out.reserve(static_cast<size_t>(info.st_size));
  char chunk[64 * 1024];
  while (true) {
    const ssize_t got = ::read(fd, chunk, sizeof(chunk));
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path, errno);
    }
    if (got == 0) return OkStatus();
    out.append(chunk, static_cast<size_t>(got));
  }
}

}  // namespace

Result<std::unique_ptr<WritableFile>> OpenWritableFile(const std::string& path, bool append) {
  const int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  const int fd = OpenRetrying(path, flags, 0644);
  if (fd < 0) return ErrnoError("open for writing", path, errno);
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd));
}

Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = OpenRetrying(path, O_RDONLY);
  if (fd < 0) return ErrnoError("open for reading", path, errno);
  std::string contents;
  const Status status = ReadAll(fd, path, contents);
  ::close(fd);
  if (!status.IsOk()) return status;
  return contents;
}

Status RenamePath(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("rename '" + from + "' to", to, errno);
  return OkStatus();
}

Status RemovePath(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoError("remove", path, errno);
  return OkStatus();
}

Status CreateDirectories(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("cannot create a directory with an empty path");
  // Create each prefix that ends before a '/', then the whole path.
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string prefix = path.substr(0, end);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("create directory", prefix, errno);
    if (end == std::string::npos) break;
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return ErrnoError("stat", path, errno);
  if (!S_ISDIR(info.st_mode)) return Status::AlreadyExists("'" + path + "' exists and is not a directory");
  return OkStatus();
}

Status SyncDirectory(const std::string& path) {
  const int fd = OpenRetrying(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return ErrnoError("open directory", path, errno);
  Status status;
  while (::fsync(fd) != 0) {
    if (errno == EINTR) continue;
    status = ErrnoError("fsync directory", path, errno);
    break;
  }
  ::close(fd);
  return status;
}

Result<std::vector<std::string>> ListDirectory(const std::string& path) {
  DIR* directory = ::opendir(path.c_str());
  if (directory == nullptr) return ErrnoError("open directory", path, errno);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(directory);
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int read_error = errno;
  ::closedir(directory);
  if (read_error != 0) return ErrnoError("read directory", path, read_error);
  std::sort(names.begin(), names.end());
  return names;
}

bool PathExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace cairn::uv_internal
