# Django's names that README.md's webhook example uses (tests/test_readme.py).
