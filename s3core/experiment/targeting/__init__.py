"""Targeting under a budget: which accounts should post a seed post, or whom to show a boosted post.

``ranking`` ranks candidates by degree and PageRank, ``greedy`` picks greedily on the simulated
outcome (CELF), ``budget`` turns a choice into interventions, ``plan`` fits on some seeds and
judges every choice on others, ``cli`` is ``python -m s3core target``.
"""
