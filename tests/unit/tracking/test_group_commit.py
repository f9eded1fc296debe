"""BatchWriter.put_and_wait, the group commit the spool is built on: callers wait for their batch's
write, share it, are answered by the batch that held their item, and never past their bound."""

import asyncio

from governance.core.writer import BatchWriter


class Disk:
    """A write_batch whose batches can be held back one by one."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gates: list[asyncio.Event] = []
        self.hold = False
        self.fail_on = fail_on
        self.started: asyncio.Queue[int] = asyncio.Queue()  # the number of each write as it begins

    async def write(self, batch: list[int]) -> int:
        gate = asyncio.Event()
        self.gates.append(gate)
        self.started.put_nowait(len(self.gates))
        if not self.hold:
            gate.set()
        await gate.wait()
        if self.fail_on is not None and self.fail_on in batch:
            raise OSError("disk full")
        self.batches.append(batch)
        return len(batch)


def test_callers_share_a_write_and_each_returns_once_its_batch_is_written():
    async def run() -> tuple[list[bool], list[list[int]]]:
        disk = Disk()
        writer = BatchWriter("t", disk.write, when_full="wait", max_pending=1000, max_batch=1000)
        await writer.start()
        answers = await asyncio.gather(*(writer.put_and_wait(n, within=5) for n in range(200)))
        await writer.stop()
        return answers, disk.batches

    answers, batches = asyncio.run(run())

    assert answers == [True] * 200
    assert sorted(n for batch in batches for n in batch) == list(range(200)) and len(batches) <= 3


def test_with_two_batches_in_flight_a_slow_one_does_not_hold_up_the_callers_of_the_next():
    async def run() -> tuple[bool, bool, bool]:
        disk = Disk()
        writer = BatchWriter("t", disk.write, when_full="wait", max_pending=1000, max_batch=1000, in_flight=2)
        await writer.start()
        disk.hold = True
        first = asyncio.ensure_future(writer.put_and_wait(1, within=5))
        await disk.started.get()  # the first batch is being written, and held
        second = asyncio.ensure_future(writer.put_and_wait(2, within=5))
        await disk.started.get()
        disk.gates[1].set()  # the second batch's write finishes first
        second_answer = await second
        first_still_waiting = not first.done()
        disk.gates[0].set()
        first_answer = await first
        await writer.stop()
        return first_still_waiting, second_answer, first_answer

    first_still_waiting, second_answer, first_answer = asyncio.run(run())

    assert first_still_waiting and second_answer is True and first_answer is True


def test_batches_finishing_out_of_order_are_all_counted_as_written():
    async def run() -> tuple[int, int]:
        disk = Disk()
        writer = BatchWriter("t", disk.write, when_full="wait", max_pending=1000, max_batch=1000, in_flight=2)
        await writer.start()
        disk.hold = True
        first = asyncio.ensure_future(writer.put_and_wait(1, within=5))
        await disk.started.get()
        second = asyncio.gather(*(writer.put_and_wait(n, within=5) for n in (2, 3)))
        await disk.started.get()  # both batches in flight
        disk.gates[1].set()
        await second
        disk.gates[0].set()
        await first
        await writer.stop()
        return writer.written, writer.batches

    assert asyncio.run(run()) == (3, 2)


def test_a_caller_is_answered_false_at_its_bound_and_its_item_is_still_written():
    async def run() -> tuple[bool, float, int, list[list[int]]]:
        disk = Disk()
        writer = BatchWriter("t", disk.write, when_full="wait", max_pending=1000, max_batch=1000)
        await writer.start()
        disk.hold = True
        loop = asyncio.get_running_loop()
        began = loop.time()
        answer = await writer.put_and_wait(7, within=0.05)
        waited = loop.time() - began
        disk.gates[0].set()
        await writer.stop()
        return answer, waited, writer.unconfirmed, disk.batches

    answer, waited, unconfirmed, batches = asyncio.run(run())

    assert answer is False and waited < 1 and unconfirmed == 1
    assert batches == [[7]]


def test_a_lost_batch_answers_false_to_its_own_callers_only():
    async def run() -> tuple[list[bool], list[bool]]:
        disk = Disk(fail_on=13)
        writer = BatchWriter("t", disk.write, when_full="wait", max_pending=1000, max_batch=1000)
        await writer.start()
        doomed = await asyncio.gather(*(writer.put_and_wait(n, within=5) for n in (11, 12, 13)))
        fine = await asyncio.gather(*(writer.put_and_wait(n, within=5) for n in (21, 22)))
        await writer.stop()
        return doomed, fine

    doomed, fine = asyncio.run(run())

    assert doomed == [False] * 3 and fine == [True, True]
