# The C core is compiled by cffi (out-of-line API mode) through this hook; see edsim/_build.py.
from setuptools import setup

setup(cffi_modules=["edsim/_build.py:ffibuilder"])
