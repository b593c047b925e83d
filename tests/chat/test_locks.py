import asyncio
import gc

from bot.chat.locks import KeyedLocks


async def test_one_key_is_one_lock_while_held_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str) -> None:
        async with locks.get(key):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(work("slack:U1", "a"), work("slack:U1", "b"), work("slack:U2", "c"))
    assert order.index("a out") < order.index("b in")  # the same asker: one at a time
    assert order.index("c in") < order.index("a out")  # another asker: not held up


async def test_a_lock_no_one_holds_is_not_kept() -> None:
    locks = KeyedLocks()
    async with locks.get("slack:U1"):
        pass
    gc.collect()
    assert len(locks._locks) == 0
