"""Tests of the local web dashboard (``lakeloop ui``)."""
