"""tracking/_rewrite.c: the link scanner of tracking/rewrite.py, compiled (see rewrite_html there)."""

from collections.abc import Callable, Set

# judge(raw link, marked data-no-track, marked data-unsubscribe) -> (destination, why skipped or None, listed)
_Judge = Callable[[str, bool, bool], tuple[str, str | None, bool]]
# (body, destinations tracked in order, (destination, reason) skipped and listed)
_Result = tuple[str, list[str], list[tuple[str, str]]]

def rewrite_html(
    document: str,
    track_link: Callable[[str], str] | None,
    pixel_tag: str | None,
    judge: _Judge,
    excluded_hosts: tuple[str, ...],
    unsubscribe_urls: Set[str],
    max_len: int,
    /,
) -> _Result: ...
def rewrite_text(
    text: str,
    track_link: Callable[[str], str],
    judge: _Judge,
    excluded_hosts: tuple[str, ...],
    unsubscribe_urls: Set[str],
    max_len: int,
    /,
) -> _Result: ...
