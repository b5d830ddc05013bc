#include "gguf/mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

constexpr std::align_val_t kCopyAlignment{64};  // a cache line: what SIMD kernels load best from

std::string errno_text(int err) { return std::strerror(err); }

// Exactly `size` bytes (not rounded up) so that AddressSanitizer catches a read one past the end.
uint8_t* allocate(uint64_t size) {
  return static_cast<uint8_t*>(::operator new(size ? size : 1, kCopyAlignment));
}

// Closes the descriptor on every path out of open().
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void lock_or_throw(const std::string& path, void* addr, uint64_t size) {
  if (size == 0) return;
  if (::mlock(addr, size) == 0) return;
  const int err = errno;
  std::string limit;
  rlimit rl{};
  if (::getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    limit = "; RLIMIT_MEMLOCK is " + std::to_string(rl.rlim_cur) + " bytes (raise it with `ulimit -l`)";
  }
  throw Error(ErrorKind::Runtime, path + ": mlock of " + std::to_string(size) + " bytes failed: " +
                                      errno_text(err) + limit);
}

}  // namespace

Mapping Mapping::open(const std::string& path, bool use_mmap, bool use_mlock) {
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) {
    throw Error(ErrorKind::FileNotFound, path + ": cannot open: " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) {
    throw Error(ErrorKind::FileNotFound, path + ": cannot stat: " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::FileNotFound, path + ": not a regular file");

  Mapping m;
  m.size_ = uint64_t(st.st_size);
  // mmap of length 0 fails (EINVAL); an empty file is parsed from an empty copy and rejected there.
  if (use_mmap && m.size_ > 0) {
    void* addr = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (addr == MAP_FAILED) {
      throw Error(ErrorKind::Runtime, path + ": mmap of " + std::to_string(m.size_) +
                                          " bytes failed: " + errno_text(errno));
    }
    m.data_ = static_cast<uint8_t*>(addr);
    m.mapped_ = true;
  } else {
    m.data_ = allocate(m.size_);
    uint64_t done = 0;
    while (done < m.size_) {
      ssize_t n = ::pread(fd.fd, m.data_ + done, m.size_ - done, off_t(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw Error(ErrorKind::Runtime,
                    path + ": read failed at byte offset " + std::to_string(done) + ": " + errno_text(errno));
      }
      if (n == 0) {
        throw Error(ErrorKind::Runtime, path + ": file shrank while reading: got " + std::to_string(done) +
                                            " of " + std::to_string(m.size_) + " bytes");
      }
      done += uint64_t(n);
    }
  }
  if (use_mlock) {
    lock_or_throw(path, m.data_, m.size_);
    m.locked_ = m.size_ > 0;
  }
  return m;
}

Mapping Mapping::copy_of(std::span<const uint8_t> bytes) {
  Mapping m;
  m.size_ = bytes.size();
  m.data_ = allocate(m.size_);
  if (!bytes.empty()) std::memcpy(m.data_, bytes.data(), bytes.size());
  return m;
}

Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, false)),
      locked_(std::exchange(other.locked_, false)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, false);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

Mapping::~Mapping() { release(); }

void Mapping::release() noexcept {
  if (!data_) return;
  if (locked_) ::munlock(data_, size_);
  if (mapped_) {
    ::munmap(data_, size_);
  } else {
    ::operator delete(data_, kCopyAlignment);
  }
  data_ = nullptr;
}

void Mapping::prefetch(uint64_t offset, uint64_t length) const {
  if (!mapped_ || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  // madvise wants a page-aligned start: round down, and extend the length by what was added.
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  const uint64_t start = offset / page * page;
  ::madvise(data_ + start, length + (offset - start), MADV_WILLNEED);
}

}  // namespace lp::gguf
