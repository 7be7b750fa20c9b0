// Always-on assertion for cold boundaries (Debian's Abseil has no CHECK).
// Hot paths use assert(); a failed FLASHSTOCK_CHECK is a programmer error.
#ifndef FLASHSTOCK_INTERNAL_CHECK_H_
#define FLASHSTOCK_INTERNAL_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FLASHSTOCK_CHECK(cond)                                                        \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: FLASHSTOCK_CHECK failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                            \
      std::abort();                                                                   \
    }                                                                                 \
  } while (false)

#endif  // FLASHSTOCK_INTERNAL_CHECK_H_
