"""An asyncio server whose handler offloads blocking work to a futurist pool.

Run it from anywhere: ``python examples/async_handler.py``. It listens on 127.0.0.1 (a free
port), answers each request line with the request's checksum computed on a thread pool -- the
event loop keeps serving other connections meanwhile -- and then plays a few clients against
itself, concurrently, and stops. It prints::

    order-0: c87acc976e899685
    order-1: b00a32e40c5196da
    order-2: 4e15b4cfe3e45904
    order-3: 1f1cd400a801a117
    order-4: 5547dbdcae722853
    order-5: 207a9c78cf70be28
    order-6: 9d966062f4b8cc1d
    order-7: 8de8de874fa29d79
    pool statistics: ExecutorStatistics(failures=0, executed=8, runtime=..., cancelled=0)
"""

import asyncio
import hashlib

import futurist
from futurist.aio import AsyncExecutor


def checksum(payload):
    """Blocking, CPU-heavy work that must not run on the event loop."""
    digest = payload
    for _ in range(2_000):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


def make_handler(executor):
    async def handle(reader, writer):
        request = await reader.readline()
        answer = await executor.run(checksum, request.strip())
        writer.write(f"{answer}\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    return handle


async def client(port, message):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{message}\n".encode())
    await writer.drain()
    answer = (await reader.readline()).decode().strip()
    writer.close()
    await writer.wait_closed()
    return message, answer


async def main():
    pool = futurist.ThreadPoolExecutor(max_workers=4)
    async with AsyncExecutor(pool) as executor:
        server = await asyncio.start_server(make_handler(executor), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            answers = await asyncio.gather(*(client(port, f"order-{n}") for n in range(8)))
    for message, answer in answers:
        print(f"{message}: {answer}")
    print(f"pool statistics: {pool.statistics}")


if __name__ == "__main__":
    asyncio.run(main())
