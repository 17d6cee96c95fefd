/*
 * Preloaded into the cold-start benchmark's processes (benchmarks/cold_start.py, decision 9) so
 * that CPython 3.13.0, the 3.13 this machine has, runs its frame stack as the 3.13 releases that
 * Lambda runs do.
 *
 * CPython keeps Python frames in 16 KiB chunks, each mapped with mmap. 3.13.0 unmaps a chunk as
 * soon as its first frame returns, so calls going back and forth across a chunk's edge pay an
 * mmap, an munmap and fresh page faults each time (CPython gh-142183, fixed in later 3.13
 * releases, which keep the freed chunk for the next push). This keeps one freed chunk the same
 * way, and nothing else: only 16 KiB private anonymous read-write mappings that it handed out
 * itself are kept, and a kept chunk is zeroed before it is handed out again, as a new mapping
 * would be (the fixed interpreter does not zero it, so this is, if anything, slower than the fix).
 *
 * frame_chunk_cache_reuses counts the mappings it saved; the benchmark reads it through ctypes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#define CHUNK_BYTES 16384
#define TRACKED_CHUNKS 64
#define CHUNK_PROT (PROT_READ | PROT_WRITE)
#define CHUNK_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS)

typedef void *(*mmap_function)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_function)(void *, size_t);

unsigned long frame_chunk_cache_reuses = 0;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *handed_out[TRACKED_CHUNKS];
static void *spare;

static void *system_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    static mmap_function next;
    if (!next) next = (mmap_function)dlsym(RTLD_NEXT, "mmap64");
    return next(address, length, prot, flags, fd, offset);
}

static int system_munmap(void *address, size_t length) {
    static munmap_function next;
    if (!next) next = (munmap_function)dlsym(RTLD_NEXT, "munmap");
    return next(address, length);
}

static void remember(void *chunk) {
    for (int i = 0; i < TRACKED_CHUNKS; i++) {
        if (!handed_out[i]) {
            handed_out[i] = chunk;
            return;
        }
    }
}

static int forget(void *chunk) {
    for (int i = 0; i < TRACKED_CHUNKS; i++) {
        if (handed_out[i] == chunk) {
            handed_out[i] = NULL;
            return 1;
        }
    }
    return 0;
}

static void *map_chunk(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    if (address || length != CHUNK_BYTES || prot != CHUNK_PROT || flags != CHUNK_FLAGS || fd != -1)
        return system_mmap(address, length, prot, flags, fd, offset);
    pthread_mutex_lock(&lock);
    void *chunk = spare;
    spare = NULL;
    pthread_mutex_unlock(&lock);
    if (chunk) {
        memset(chunk, 0, CHUNK_BYTES);
        __atomic_add_fetch(&frame_chunk_cache_reuses, 1, __ATOMIC_RELAXED);
    } else {
        chunk = system_mmap(address, length, prot, flags, fd, offset);
        if (chunk == MAP_FAILED) return chunk;
    }
    pthread_mutex_lock(&lock);
    remember(chunk);
    pthread_mutex_unlock(&lock);
    return chunk;
}

/* glibc's mmap and mmap64 are one function on 64-bit Linux; libpython calls mmap64. */
void *mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    return map_chunk(address, length, prot, flags, fd, offset);
}

void *mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    return map_chunk(address, length, prot, flags, fd, offset);
}

int munmap(void *address, size_t length) {
    if (length == CHUNK_BYTES) {
        pthread_mutex_lock(&lock);
        int ours = forget(address);
        int kept = ours && !spare;
        if (kept) spare = address;
        pthread_mutex_unlock(&lock);
        if (kept) return 0;
    }
    return system_munmap(address, length);
}
