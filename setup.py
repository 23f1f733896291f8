"""The one compiled part of footfall: the pixel's parsers (src/footfall/_speedups.c) and the session
tracker's table (src/footfall/_sessiontable.c), one module.

Optional: if it cannot be built (no C compiler), the install still succeeds and footfall uses the
same parsers and a dict in Python. Everything else about the package is declared in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "footfall._speedups",
            ["src/footfall/_speedups.c", "src/footfall/_sessiontable.c"],
            optional=True,
        ),
    ]
)
