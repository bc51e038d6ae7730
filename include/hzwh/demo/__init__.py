"""Demo data for the warehouse: a deterministic, realistic year of bureau feeds.

`hzwh.demo.generate` writes the four feeds of FEEDS.md §3 into a landing folder
and says, next to the files, which rows a correct warehouse must load,
quarantine, reject and judge breached, so that the pipeline can be shown and
tested end to end against a known answer.
"""
