"""Selling through flashstock from Python with redis-py: a plain sale and the
reserve / commit / cancel cart flow. Any Redis client works the same way.

    flashstock serve --journal /var/lib/flashstock --durability sync &
    FLASHSTOCK_PORT=7379 python3 docs/examples/cart.py

In a Django view the same calls go in the view body; `stock` below would be
one module-level redis.Redis (it pools connections and is thread-safe).
"""
import os
import time

import redis

stock = redis.Redis(host=os.environ.get("FLASHSTOCK_HOST", "127.0.0.1"),
                    port=int(os.environ.get("FLASHSTOCK_PORT", "7379")),
                    socket_timeout=5)


def buy_now(sku, quantity):
    """One-click purchase: returns units left, or None when sold out."""
    try:
        return stock.execute_command("TAKE", sku, quantity)
    except redis.ResponseError as e:
        if str(e).startswith("INSUFFICIENT"):
            return None
        raise


def hold_cart(order_id, lines, ttl_ms=10 * 60 * 1000):
    """Holds every line of a cart, all or nothing. lines: {sku: quantity}.
    Returns None, or the SKU that is short."""
    args = []
    for sku, quantity in lines.items():
        args += [sku, quantity]
    try:
        stock.execute_command("RESERVE", order_id, ttl_ms, *args)
        return None
    except redis.ResponseError as e:
        words = str(e).split()
        if words[0] == "INSUFFICIENT":
            return words[1]
        raise


def checkout(order_id, paid):
    """Payment came back: commit the hold, or give the stock back."""
    stock.execute_command("COMMIT" if paid else "CANCEL", order_id)


if __name__ == "__main__":
    run = int(time.time() * 1000) % 1_000_000_000  # fresh order ids per run
    for sku, qty in (("tee-black-m", 3), ("mug", 10)):
        try:
            stock.execute_command("DEFINE", sku, qty)
        except redis.ResponseError as e:
            assert str(e).startswith("ALREADY_DEFINED"), e

    print("buy now:", buy_now("mug", 2))                      # 8 left
    assert hold_cart(run + 1, {"tee-black-m": 2, "mug": 1}) is None
    print("held:", stock.execute_command("ORDER", run + 1))    # [b'HELD', b'tee-black-m', 2, b'mug', 1]
    print("short:", hold_cart(run + 2, {"tee-black-m": 2}))   # tee-black-m: only 1 unheld
    checkout(run + 1, paid=True)
    print("after commit:", stock.execute_command("LEVEL", "tee-black-m"))  # [1, 0, 2]
    assert hold_cart(run + 3, {"tee-black-m": 1}) is None
    checkout(run + 3, paid=False)                             # the unit comes back
    print("after cancel:", stock.execute_command("LEVEL", "tee-black-m"))  # [1, 0, 2]
    print("sold out:", buy_now("tee-black-m", 5))             # None
