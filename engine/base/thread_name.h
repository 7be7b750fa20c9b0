// Names the engine's own threads ("fs-journal", "fs-expiry",
// "fs-checkpoint"), so `top -H`, gdb and TSan reports say which is which.
#ifndef FLASHSTOCK_INTERNAL_THREAD_NAME_H_
#define FLASHSTOCK_INTERNAL_THREAD_NAME_H_

#include <pthread.h>

namespace flashstock::internal {

// REQUIRES: name is at most 15 characters (the kernel's limit). A failure
// only costs the name, so it is ignored.
inline void NameThisThread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_INTERNAL_THREAD_NAME_H_
