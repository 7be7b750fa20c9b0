#include <cstdio>

#include "flashstock/engine.h"

int main() {
  flashstock::Engine engine(flashstock::EngineOptions{.skus_max = 8});
  if (!engine.Define("widget", 3).ok()) return 1;
  const flashstock::SkuHandle widget = *engine.Resolve("widget");
  if (!engine.Take(widget, 3).ok()) return 1;
  if (engine.Take(widget, 1).outcome != flashstock::Outcome::kInsufficient) return 1;
  std::puts("consumer: ok");
  return 0;
}
