"""The relay's partitioner puts every key where Kafka's own default partitioner would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from runtime import partitioner

ALL = list(range(12))


@given(st.binary(max_size=200))
def test_the_hash_is_kafkas_murmur2(key: bytes) -> None:
    assert partitioner.murmur2(key) == murmur2(key) & 0xFFFFFFFF


@given(st.binary(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
def test_a_key_goes_to_the_partition_kafkas_partitioner_chooses(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partitioner.default_partitioner(key, every, every) == DefaultPartitioner()(key, every, every)


def test_known_values_of_the_java_client() -> None:
    # From Kafka's UtilsTest.testMurmur2 (Java returns the signed form).
    assert partitioner.murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert partitioner.murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert partitioner.murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert partitioner.murmur2(b"a-little-bit-longer-string") == -1486304829 & 0xFFFFFFFF
    assert partitioner.murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971 & 0xFFFFFFFF
    assert partitioner.murmur2(bytes([ord("a"), ord("b"), ord("c")])) == 479470107


def test_a_keyless_message_goes_to_an_available_partition() -> None:
    assert partitioner.default_partitioner(None, ALL, [3, 5]) in (3, 5)
