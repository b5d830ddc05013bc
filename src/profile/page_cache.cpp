#include "profile/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "llamaprof/error.h"

namespace lp {
namespace {

// Owns a file descriptor; the error names the path and errno's text.
class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) {
      throw Error(errno == ENOENT ? ErrorKind::FileNotFound : ErrorKind::Runtime,
                  path + ": cannot open: " + std::strerror(errno));
    }
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

uint64_t file_size_of(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(ErrorKind::Runtime, path + ": fstat: " + std::strerror(errno));
  return uint64_t(st.st_size);
}

}  // namespace

Residency file_residency(const std::string& path) {
  Fd fd(path);
  Residency r;
  r.file_bytes = file_size_of(fd.get(), path);
  if (r.file_bytes == 0) return r;
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  r.pages = (r.file_bytes + page - 1) / page;
  // A mapping that is never touched does not fault pages in, so looking does not change the answer.
  void* map = ::mmap(nullptr, r.file_bytes, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) throw Error(ErrorKind::Runtime, path + ": mmap: " + std::strerror(errno));
  std::vector<unsigned char> vec(r.pages);
  const int rc = ::mincore(map, r.file_bytes, vec.data());
  const int err = errno;
  ::munmap(map, r.file_bytes);
  if (rc != 0) throw Error(ErrorKind::Runtime, path + ": mincore: " + std::strerror(err));
  for (unsigned char v : vec) r.resident_pages += (v & 1);
  return r;
}

EvictResult evict_file(const std::string& path) {
  EvictResult result;
  result.before = file_residency(path);
  {
    Fd fd(path);
    // Dirty pages cannot be dropped: write them back first.
    ::fdatasync(fd.get());
    const int rc = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0) throw Error(ErrorKind::Runtime, path + ": posix_fadvise(DONTNEED): " + std::strerror(rc));
  }
  result.after = file_residency(path);
  return result;
}

Residency warm_file(const std::string& path) {
  {
    Fd fd(path);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<char> buf(size_t(8) << 20);
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorKind::Runtime, path + ": read: " + std::strerror(errno));
      }
    }
  }
  return file_residency(path);
}

}  // namespace lp
