"""nmt.serve.markup: the pieces of any document join back to it, and only text outside markup
and verbatim elements is offered for translation."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from nmt.serve import markup

HTMLISH = st.text(alphabet=st.sampled_from(list("<>/!-[]&;ab pre script \n")), max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.one_of(HTMLISH, st.text(max_size=60)))
def test_any_document_splits_into_pieces_that_join_back_to_it(document):
    pieces = markup.split(document)
    assert "".join(p for p, _ in pieces) == document
    # "Translating" each text to itself gives the document back, entities normalised.
    same = markup.join(pieces, markup.texts(pieces))
    assert same == "".join(html.escape(html.unescape(p), quote=False) if is_text and p.strip()
                           else p for p, is_text in pieces)


def test_what_is_offered_for_translation():
    document = ('<p title="a &lt; b">One &amp; two.</p><PRE>keep <b>this</b></PRE>'
                "<script>x = '<p>no</p>'</script><!-- not this --> Three.<br/>")
    assert markup.texts(markup.split(document)) == ["One & two.", " Three."]
    pieces = markup.split(document)
    assert markup.join(pieces, ["Un & deux.", " Trois."]) == (
        '<p title="a &lt; b">Un &amp; deux.</p><PRE>keep <b>this</b></PRE>'
        "<script>x = '<p>no</p>'</script><!-- not this --> Trois.<br/>")
