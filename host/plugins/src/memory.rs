//! How the process keeps the memory it frees between documents.

/// The most freed memory kept at the top of the heap for the next document.
pub const KEPT_FREE_HEAP: usize = 64 << 20;

/// Blocks up to this size come from the heap, not from a fresh `mmap` each (glibc's
/// largest setting on 64-bit).
pub const LARGEST_HEAP_BLOCK: usize = 32 << 20;

/// Keeps up to [`KEPT_FREE_HEAP`] of freed heap for the next document rather than giving it
/// back to the kernel after each one. Called once at start, before any thread is spawned.
///
/// glibc returns the top of its heap to the kernel as soon as more than its trim threshold
/// is free there (128 KiB, raised to twice the largest block freed so far). A big document
/// (a 1,000-line cart holds ~6 MB while it is decoded) is then freed past that threshold
/// after every call, and the next call faults the same pages back in, one zeroed page at a
/// time: measured, 1.5× the per-line cost of a 100-line cart (BENCHMARKS.md, measure 2).
/// Setting the threshold stops glibc from raising its `mmap` threshold as big blocks are
/// freed, so it is set as well, to what glibc would raise it to at most: otherwise every
/// block over 128 KiB (a big document's buffers) is mapped and faulted in afresh.
/// Adapters loaded as libraries allocate through the same `malloc`, so this covers them too.
/// Other C libraries and allocators do not trim this eagerly; there it does nothing.
pub fn keep_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let setting = |bytes: usize| libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` only sets tunables of glibc's allocator, to values it accepts,
        // and it is called before other threads allocate.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, setting(LARGEST_HEAP_BLOCK));
            libc::mallopt(libc::M_TRIM_THRESHOLD, setting(KEPT_FREE_HEAP));
        }
    }
}
