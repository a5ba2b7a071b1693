"""A user's file as rows: its text (the encoding, byte-order marks) and its records (CSV or TSV
with a header row; JSON Lines, or a .json array of objects), with errors that name the file, the
line and what was expected. models/user_files.py turns the rows into examples and tasks.

    read_text(path, encoding)          the file's text, its encoding checked
    csv_rows(text, path, columns)      (line, {column: value}) per record, the header naming `columns`
    jsonl_rows(text, path, columns)    (line or "item N", object) per record, each with `columns`
    has_column(path, column)           whether a table's header (or first object) names a column
"""
import codecs
import csv
import io
import json
import shlex
from pathlib import Path

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")  # files with named columns; any other is plain text
JSON_SUFFIXES = (".jsonl", ".json")


# Python's csv module refuses a field over 131,072 characters (a guard against runaway quotes), but
# a whole document in one cell is a fair thing to fine-tune on. Not sys.maxsize: on platforms where
# a C long is 32 bits, field_size_limit(sys.maxsize) overflows.
CSV_FIELD_LIMIT = 2**31 - 1


# The byte-order marks that Windows tools (Notepad's "Unicode", PowerShell's redirection, Excel's
# "Unicode Text") put at the start of UTF-16 and UTF-32 files. UTF-32's come first: its little-endian
# mark, FF FE 00 00, starts with UTF-16's FF FE.
WIDE_BYTE_ORDER_MARKS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _marked_encoding(raw):
    """"utf-16" or "utf-32" where the bytes start with that encoding's byte-order mark, else None."""
    return next((name for mark, name in WIDE_BYTE_ORDER_MARKS if raw.startswith(mark)), None)


def read_text(path, encoding):
    """The file's text in `encoding`, with errors that say what it is instead (a folder, UTF-16, another
    encoding: the line of the first byte that does not decode)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a data file (CSV, JSONL or plain text)")
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    raw = path.read_bytes()
    try:
        codec = codecs.lookup(encoding).name  # the canonical name: "UTF16" and "utf_16" are "utf-16"
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {path}") from None
    # Read as UTF-8 such a file fails on its first byte, and as latin-1 it "works", giving a header
    # of letters with NULs between them; either way the mark says what the encoding is.
    marked = _marked_encoding(raw)
    if marked and not codec.startswith(marked):  # "utf-16-le" is fine: the mark is then removed below
        raise ValueError(f"{path} is {marked.upper()} text (it starts with a {marked.upper()} byte-order mark), "
                         f"not {encoding}; pass --encoding {marked}")
    try:
        return raw.decode(encoding).removeprefix("\ufeff")  # a byte-order mark (Excel) is not text
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {path}") from None
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ValueError(f"{path} is not valid {encoding}: byte {raw[error.start]:#04x} on line {line} cannot be "
                         f"decoded; pass the file's encoding, e.g. --encoding latin-1") from None


# Commas first; then tabs (.tsv) and semicolons (what spreadsheets write where the decimal mark is a comma)
DELIMITERS = (",", "\t", ";")


def text_lines(text):
    """The lines as the csv module counts them: \n, \r\n or an old Mac's lone \r ends one. (str.splitlines
    would also end one at U+2028, \x85 or \x0c, which scraped text and JSON strings may hold.)"""
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline="")]


def _first_line(text):
    return io.StringIO(text, newline="").readline().rstrip("\r\n")


def _delimiter(text, columns):
    """The delimiter under which the header row names every one of `columns`; failing that, the one
    that splits the header into the most fields (so an error lists the columns as the file has them)."""
    headers = {d: next(csv.reader([_first_line(text)], delimiter=d), []) for d in DELIMITERS}
    for delimiter, header in headers.items():
        if all(column in header for column in columns):
            return delimiter
    return max(DELIMITERS, key=lambda d: len(headers[d]))  # the first of equals: a comma


class StrayQuote(ValueError):
    """A double quote that opened a quoted field where the file meant a plain quote mark."""


def csv_rows(text, path, columns):
    """(line number, row dict) for each record, after checking the header names `columns`.
    A row short of one of `columns` is an error; its other missing fields are "" (unread columns).

    A field that starts with a double quote runs to the next one, across lines. A stray quote
    ('"the best', '5" screen') would so swallow the rows after it into one text: that is an
    error naming the line the quote opened on. A tab-separated file is then read again with its
    quotes as text: such files (GLUE's .tsv) seldom quote their fields."""
    if not text.strip():  # blank lines and spaces hold no header either: not a header row of one blank name
        raise ValueError(f"{path} is empty: expected a header row naming the columns {columns}")
    csv.field_size_limit(CSV_FIELD_LIMIT)
    delimiter = _delimiter(text, columns)
    try:
        return _parsed_rows(text, path, columns, delimiter, csv.QUOTE_MINIMAL)
    except StrayQuote:
        if delimiter != "\t":
            raise
        return _parsed_rows(text, path, columns, delimiter, csv.QUOTE_NONE)


def _parsed_rows(text, path, columns, delimiter, quoting):
    lines = text_lines(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), restval=None, delimiter=delimiter, quoting=quoting,
                            strict=True)
    rows, start = [], 1  # the line a record starts on: the header's, until it is read
    try:
        _check_header(reader.fieldnames, path, columns)
        start = reader.line_num + 1
        for row in reader:
            while start < reader.line_num and not lines[start - 1].strip():
                start += 1  # blank lines before the record: it starts after them
            extra = row.pop(None, [])  # fields past the header's: a text with an unquoted separator in it
            if any(field.strip() for field in extra):
                raise ValueError(f"{path}, line {reader.line_num}: {len(reader.fieldnames) + len(extra)} fields, but "
                                 f"the header names {len(reader.fieldnames)}; put a text that contains "
                                 f"{delimiter!r} in double quotes (\"good{delimiter} really good\")")
            missing = [column for column in columns if row[column] is None]
            if missing:
                given = sum(value is not None for value in row.values())
                raise ValueError(f"{path}, line {start}: {given} field{'s' * (given != 1)}, but the header names "
                                 f"{len(reader.fieldnames)}: no {missing[0]!r} (a separator {delimiter!r} missing?)")
            rows.append((start, {name: "" if value is None else value for name, value in row.items()}))
            start = reader.line_num + 1
    except csv.Error as error:  # most likely the parser ran on inside a quoted field a stray quote opened
        if '"' not in lines[start - 1]:
            raise ValueError(f"{path}, line {start}: not valid CSV ({error})") from None
        raise StrayQuote(f"{path}, line {start}: {_stray_quote(lines[start - 1])} that does not close where it "
                         f"should (the CSV reader: {error}); {STRAY_QUOTE_HINT}") from None
    if len(columns) > 1:
        _check_no_swallowed_rows(rows, path, columns, reader.fieldnames, delimiter, lines)
    return rows


def _stray_quote(line):
    return f"a double quote opens a quoted text here ({line[:60]!r})"


STRAY_QUOTE_HINT = 'inside a quoted text write a quote as two (""); a text that starts with none needs no quotes'


def _check_no_swallowed_rows(rows, path, columns, header, delimiter, lines):
    """A text over several lines, one of which reads as a whole row with a label the file uses in
    its place ("the best film,positive"), is rows a stray quote swallowed: an error, not one example."""
    text_column, label_column = columns
    labels, where = {row[label_column] for _, row in rows}, header.index(label_column)
    for start, row in rows:
        inner_lines = text_lines(row[text_column])
        if len(inner_lines) < 2:
            continue
        for inner in inner_lines:
            fields = next(csv.reader([inner], delimiter=delimiter), [])
            if len(fields) == len(header) and fields[where] in labels:
                raise StrayQuote(f"{path}, line {start}: {_stray_quote(lines[start - 1])} that runs over "
                                 f"{len(inner_lines)} lines, taking in rows such as {inner[:60]!r} "
                                 f"as its text; {STRAY_QUOTE_HINT}")


# The options that name the columns, in the order the loaders pass them: [text_column, label_column]
COLUMN_OPTIONS = ("--text-column", "--label-column")


def _near_miss_hint(column, names, columns):
    """"; did you mean --label-column ' label'?" where one of `names` is `column` but for case or
    spaces around it ("Label", or " label" from a header written "text, label"), else "". Such a
    name looks right in a list, so the hint gives the option exactly as it must be typed."""
    near = [name for name in names if name.strip().casefold() == column.strip().casefold()]
    if not near:
        return ""
    return f"; did you mean {COLUMN_OPTIONS[columns.index(column)]} {shlex.quote(near[0])}?"


# An error lists at most this many names, each cut to this length: the "header" of a file with no
# line breaks (or one read in the wrong encoding) is the whole file, and would fill the screen.
SHOWN_NAMES = 10
SHOWN_NAME_LENGTH = 40


def name_list(names):
    """Names for an error, quoted (so a stray space or an empty name shows), the first SHOWN_NAMES
    of them, a long one cut short with its length given."""
    shown = [repr(name) if len(name) <= SHOWN_NAME_LENGTH else
             f"{name[:SHOWN_NAME_LENGTH]!r}... ({len(name):,} characters)" for name in names[:SHOWN_NAMES]]
    more = len(names) - SHOWN_NAMES
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _is_wide(character):
    """Whether a character is CJK, Hangul or private-use: what most pairs of bytes read as UTF-16 are."""
    return ("\u2e80" <= character <= "\u9fff" or "\uac00" <= character <= "\ud7af"
            or "\ue000" <= character <= "\uf8ff")


def _wrong_encoding_hint(header):
    """A hint where the header reads as text decoded in the wrong encoding, else "". UTF-16 read a byte
    at a time puts a NUL beside each ASCII letter. A UTF-8 file read as UTF-16 pairs its bytes into
    CJK characters, and has neither separators nor line breaks left: the header is one long name."""
    text = "".join(header)
    if "\x00" in text:
        order = "be" if text.startswith("\x00") else "le"  # which side of each letter its NUL is on
        return f" (NULs between the letters: UTF-16 text; pass --encoding utf-16-{order})"
    if len(header) == 1 and 2 * sum(map(_is_wide, text)) > len(text):
        return (" (mostly CJK characters, which is how a UTF-8 file read as UTF-16 looks: check --encoding, "
                "whose default is utf-8)")
    return ""


def _check_header(header, path, columns):
    """The header row names each of `columns` exactly once. Only those: a repeated column that is
    not read (often blank names, from empty cells at the end of a spreadsheet's header) does no harm."""
    for column in columns:
        if column not in header:
            hint = _near_miss_hint(column, header, columns) or _wrong_encoding_hint(header)
            if not hint and (len(header) == 1 or Path(path).suffix.lower() == ".txt") and len(columns) > 1:
                # one column, or a .txt whose commas made columns of a sentence: most likely plain text
                hint = (f" ({'one column' if len(header) == 1 else 'a .txt file'}: for plain text, one example per "
                        "line, use --task lm; labelled examples need a header row naming the text and label columns)")
            raise ValueError(f"{path} has no column {column!r}; its columns are: {name_list(header)}{hint}")
        if header.count(column) > 1:  # csv.DictReader would quietly read the last one
            raise ValueError(f"{path} has {header.count(column)} columns named {column!r}; rename all but one, "
                             "so it is clear which to read")


def place(position):
    """Where a row is, for messages: "line 3" for a line number, as csv_rows and jsonl_rows give
    for lines; a JSON array's "item 3" as it is."""
    return f"line {position}" if isinstance(position, int) else position


def _json_lines(text, path):
    """(line number, value) for each non-blank line of JSON Lines."""
    for number, line in enumerate(text_lines(text), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            _check_not_one_document(text, path)
            raise ValueError(f"{path}, line {number}: not valid JSON ({error.msg})") from None


def _check_not_one_document(text, path):
    """A line that is not JSON may be part of one JSON document over many lines, an object written
    with indents ({"data": [...]}): an error that says what the file holds, not that its line "{" is
    not JSON. (An object it is: only arrays and objects span lines, and an array is read as one.)"""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return  # not one document either: the line's error says where
    arrays = [key for key, value in document.items() if isinstance(value, list)]
    hint = f" ({arrays[0]!r} holds an array: to read it, save that array alone as the file)" if arrays else ""
    raise ValueError(f"{path}: expected a JSON array of objects (or JSON Lines: one object per line), got a JSON "
                     f"object with the keys {name_list(list(document))}{hint}")


def _json_array(text, path):
    """("item N", value) for each element of a JSON array, counting from 1. The array may span
    many lines, so an element has no line of its own; its place in the array names it instead."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from None
    for number, item in enumerate(items, 1):
        yield f"item {number}", item


def jsonl_rows(text, path, columns):
    """(position, object) for each record, each checked to have `columns`. A record is a line (the
    position a line number) of a JSON Lines file, or, where a .json file holds one JSON array (as
    many tools export), an element of it (the position "item N"; see place)."""
    is_array = text.lstrip().startswith("[")
    if is_array and Path(path).suffix.lower() == ".jsonl":  # JSON Lines is one object per line
        raise ValueError(f"{path} looks like a JSON array (it starts with '['), not JSON Lines (one object per "
                         "line, as .jsonl says); rename it to .json to read it as an array of objects")
    for position, row in (_json_array if is_array else _json_lines)(text, path):
        if not isinstance(row, dict):
            raise ValueError(f"{path}, {place(position)}: expected a JSON object, got {type(row).__name__}")
        for column in columns:
            if column not in row:
                raise ValueError(f"{path}, {place(position)}: no field {column!r}; its fields are: "
                                 f"{name_list(list(row))}{_near_miss_hint(column, row, columns)}")
        yield position, row


def json_kind(value):
    """What JSON calls a value's type, for saying what a field holds."""
    kinds = {dict: "an object", list: "an array", type(None): "null", bool: "true/false", str: "a string"}
    return kinds.get(type(value), "a number")


def has_column(path, column, encoding="utf-8"):
    """Whether a .csv / .tsv file's header row, or a JSON file's first object, names `column`
    (a file that is not valid is left to the reader that follows, which says where)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return False
    text = read_text(path, encoding)
    if suffix in JSON_SUFFIXES:
        try:
            _, first = next(jsonl_rows(text, path, []), (None, None))
        except ValueError:
            return False
        return isinstance(first, dict) and column in first
    return column in next(csv.reader([_first_line(text)], delimiter=_delimiter(text, [column])), [])
