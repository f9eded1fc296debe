"""Everything else is in pyproject.toml; this file only declares the C extension (setuptools has
no stable way to do that in pyproject.toml yet)."""

from setuptools import Extension, setup

# The link scanner of tracking/rewrite.py, compiled. Optional: without a C compiler the install goes
# on and rewriting runs the same Python, several times slower (a test fails then: CI never ships that).
setup(
    ext_modules=[
        Extension(
            "tracking._rewrite",
            sources=["tracking/_rewrite.c"],
            extra_compile_args=["-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
