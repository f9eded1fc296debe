"""SQLite purge batches are sized by time: each aims at the target, whatever a row costs."""

from governance.core.batches import TimedBatches


def test_batches_grow_at_most_twofold_while_under_the_target():
    batches = TimedBatches(0.05, start=200)
    batches.took(200, 0.001)  # far under: 10,000 rows would fit, but growth is gradual
    assert batches.size == 400
    batches.took(400, 0.002)
    assert batches.size == 800


def test_a_batch_over_the_target_shrinks_the_next_in_proportion():
    batches = TimedBatches(0.05, start=4000)
    batches.took(4000, 0.2)  # 4x over: a slower disk

    assert batches.size == 1000  # 0.05 s at 50 µs a row


def test_sizes_stay_within_their_bounds():
    slow = TimedBatches(0.05, start=100, minimum=20)
    slow.took(100, 10.0)
    assert slow.size == 20

    fast = TimedBatches(0.05, start=40_000, maximum=50_000)
    fast.took(40_000, 0.0001)
    assert fast.size == 50_000
    fast.took(0, 0.0)  # nothing deleted says nothing about the cost of a row
    assert fast.size == 50_000


def test_the_size_settles_where_a_batch_takes_the_target():
    batches, per_row = TimedBatches(0.05, start=50), 20e-6  # 20 µs a row: 2,500 rows make 50 ms
    for _ in range(12):
        batches.took(batches.size, batches.size * per_row)

    assert batches.size == 2500
