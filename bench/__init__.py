"""Benchmarks: a city-scale data generator and a load runner (`make bench`); never part of the tests."""
