"""Bounds on the numbers, strings and collections pathway code may build, checked before they are built.

``10 ** (10 ** 7)`` or ``'a' * 10 ** 9`` is one operation inside C: it holds the interpreter (and
every other request) until it ends, and no trace function sees it. So scripts and expressions are
compiled with :class:`LimitingTransformer`, which turns ``**``, ``*``, ``<<``, ``+`` and ``%`` into
calls of :func:`binop`; ``range``, ``pow`` and the string and list methods that grow their result
are bounded too. Templates (``templates.py``) use the same checks for their operators and filters.

The bounds are far above what a care pathway computes: a score, a date, a list of answers.
"""

import ast
import operator
import re

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from .limits import LimitExceeded

MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_LENGTH = 1_000_000  # characters of a string, items of a list, tuple or range
MAX_DATA = 2 * MAX_LENGTH  # items and characters of the task data a script leaves, counted as JSON would
SIZED = (str, bytes, list, tuple)


def _refuse(what: str) -> LimitExceeded:
    return LimitExceeded(f"size limit: {what}")


def _bits(value) -> int:
    return abs(int(value)).bit_length()


def _is_int(value) -> bool:
    return isinstance(value, int)


def check_length(what: str, length: int) -> None:
    """Refuse building ``what`` of ``length`` items or characters when that is past the bound."""
    if length > MAX_LENGTH:
        raise _refuse(f"{what} would hold {length:,} items or characters; pathway code may build at most "
                      f"{MAX_LENGTH:,}")


def _content(what: str, size: int) -> None:
    if size > MAX_DATA:
        raise _refuse(f"{what} would hold more than {MAX_DATA:,} items and characters")


def _number(what: str, bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _refuse(f"{what} would be a number of about {bits:,} bits; pathway numbers may have at most "
                      f"{MAX_INT_BITS:,}")


def _check_pow(base, exponent) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        _number(f"{_short(base)} ** {_short(exponent)}", _bits(base) * exponent)


def _check_mult(left, right) -> None:
    if _is_int(left) and _is_int(right):
        _number(f"{_short(left)} * {_short(right)}", _bits(left) + _bits(right))
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, SIZED) and _is_int(times) and times > 1:
            check_length(f"{type(sequence).__name__} * {_short(times)}", len(sequence) * times)
            if isinstance(sequence, (list, tuple)):  # what it holds is written out once per repeat
                _content(f"{type(sequence).__name__} * {_short(times)}", (data_size(sequence) - 1) * times)


def _check_lshift(left, right) -> None:
    if _is_int(left) and _is_int(right) and left:
        _number(f"{_short(left)} << {_short(right)}", _bits(left) + max(right, 0))


def _check_add(left, right) -> None:
    if isinstance(left, SIZED) and isinstance(right, SIZED):
        check_length(f"{type(left).__name__} + {type(right).__name__}", len(left) + len(right))


# A conversion of printf-style formatting: its width and precision, either may be "*" (taken from the values).
PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
WIDTHS = re.compile(r"\d+")


def check_format(left, right) -> None:
    """Refuse ``left % right`` (printf-style) when a width or the whole would be past the bound."""
    if not isinstance(left, (str, bytes)):
        return
    text = left.decode("latin-1") if isinstance(left, bytes) else left
    values = right if isinstance(right, tuple) else (right,)
    stars = False
    for width, precision in PRINTF.findall(text):
        stars = stars or "*" in (width, precision)
        for number in (width, precision):
            if number.isdigit():
                check_length("a %-format width", int(number))
    if stars:
        for value in values:
            if _is_int(value):
                check_length("a %-format width", value)
    check_length("%-formatting", len(text) + sum(data_size(v, MAX_DATA) for v in values))


OPERATORS = {"**": operator.pow, "*": operator.mul, "<<": operator.lshift, "+": operator.add, "%": operator.mod,
             "-": operator.sub, "/": operator.truediv, "//": operator.floordiv}
CHECKS = {"**": _check_pow, "*": _check_mult, "<<": _check_lshift, "+": _check_add, "%": check_format}


def binop(op: str, left, right):
    """``left op right``, refused when its result would pass a bound."""
    check = CHECKS.get(op)
    if check is not None:
        check(left, right)
    return OPERATORS[op](left, right)


INPLACE = {"+=", "-=", "*=", "/=", "//=", "%="}


def inplace(op: str, target, value):
    """``target op= value`` (RestrictedPython's ``_inplacevar_``) for the operators arithmetic on data needs."""
    if op not in INPLACE:
        raise SyntaxError(f"the operator {op} is not allowed in a pathway script")
    return binop(op[:-1], target, value)


def limited_range(*args) -> range:
    """``range`` for pathway code: at most :data:`MAX_LENGTH` numbers (a loop over it is a loop of ticks)."""
    found = range(*args)
    check_length("range", len(found))
    return found


MAX_MODULAR_BITS = 4096  # pow(b, e, m) takes a multiplication of m's size per bit of e


def limited_pow(base, exponent, modulus=None):
    """``pow`` for pathway code, bounded as ``**`` is; with a modulus, on numbers of a few thousand bits."""
    if modulus is None:
        return binop("**", base, exponent)
    if _is_int(exponent) and _is_int(modulus) and max(_bits(exponent), _bits(modulus)) > MAX_MODULAR_BITS:
        raise _refuse(f"pow() with a modulus takes numbers of at most {MAX_MODULAR_BITS:,} bits")
    return pow(base, exponent, modulus)


def formatted(value, conversion: int, spec: str) -> str:
    """An f-string's ``{value!r:spec}``, refused when the spec asks for a huge width."""
    for number in WIDTHS.findall(spec):
        check_length("an f-string width", int(number))
    value = {115: str, 114: repr, 97: ascii}.get(conversion, lambda v: v)(value)
    return format(value, spec)


# --------------------------------------------------------------------------- methods that grow their result

def _width(obj, name: str, width=0, *rest):
    if _is_int(width):
        check_length(f"{type(obj).__name__}.{name}", max(width, len(obj)))


def _expandtabs(obj, name: str, tabsize=8):
    tab = "\t" if isinstance(obj, str) else b"\t"
    check_length(f"{type(obj).__name__}.expandtabs", len(obj) + obj.count(tab) * max(int(tabsize), 0))


def _replace(obj, name: str, old, new, count=-1):
    found = len(obj) + 1 if not old else obj.count(old)
    found = found if count is None or count < 0 else min(found, count)
    check_length(f"{type(obj).__name__}.replace", len(obj) + found * max(len(new) - len(old), 0))


GROWING = {"ljust": _width, "rjust": _width, "center": _width, "zfill": _width, "expandtabs": _expandtabs,
           "replace": _replace}


def method(obj, name: str, found):
    """``obj.name`` for pathway code: a method that grows its result checks its arguments first."""
    if isinstance(obj, (str, bytes)) and name in GROWING:
        def bounded(*args, **kwargs):
            GROWING[name](obj, name, *args, *kwargs.values())
            return found(*args, **kwargs)
        return bounded
    if isinstance(obj, (str, bytes)) and name == "join":
        return lambda items: _join(obj, items)
    if isinstance(obj, list) and name == "extend":
        return lambda items: _extend(obj, items)
    return found


def _join(separator, items):
    items = list(items)
    joined = sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(separator) * max(len(items) - 1, 0)
    check_length(f"{type(separator).__name__}.join", joined)
    return separator.join(items)


def _extend(target: list, items) -> None:
    items = list(items)
    check_length("list.extend", len(target) + len(items))
    target.extend(items)


# --------------------------------------------------------------------------- data a script leaves

MAX_DEPTH = 500  # nesting of lists and dicts in data, far beyond any form's answers


def data_size(value, limit: int = MAX_DATA) -> int:
    """Items and characters in ``value`` as JSON would write them out, counted up to about ``limit``.

    A part shared many times counts each time, as JSON writes it each time: ``x = [x, x]`` forty
    times over is a few lists in memory and 2 ** 40 of them in the stored state. Each list or dict
    is measured once (they are remembered by id while ``value`` holds them), so the count costs
    what the distinct parts are, not what they amount to.
    """
    return _size(value, {}, limit, 0)


CONTAINERS = (dict, list, tuple, set, frozenset)


def _size(value, known: dict, limit: int, depth: int) -> int:
    if isinstance(value, (str, bytes)):
        return len(value) + 1
    if not isinstance(value, CONTAINERS):
        return 1
    if id(value) in known:  # measured before, or being measured: a container holding itself is endless
        return known[id(value)] if known[id(value)] is not None else limit + 1
    if depth > MAX_DEPTH:
        return limit + 1
    known[id(value)] = None
    total = 1
    for item in ((*value.keys(), *value.values()) if isinstance(value, dict) else value):
        if isinstance(item, (str, bytes)):
            total += len(item) + 1
        elif isinstance(item, CONTAINERS):
            total += _size(item, known, limit, depth + 1)
            if total > limit:
                break
        else:
            total += 1
    known[id(value)] = total
    return total


def trim_data(context: dict, before: dict) -> bool:
    """Bring task data a script left past :data:`MAX_DATA` back within it; True when it had to.

    The state reached is saved with the incident, and state is written out as JSON: data past the
    bound (or holding itself) would make that write take the server's memory, or fail. What the
    script assigned goes first (the variables as they were before it), then, largest first, what
    it grew in place.
    """
    if data_size(context) <= MAX_DATA:
        return False
    context.clear()
    context.update(before)
    sizes = sorted(((data_size(value), key) for key, value in context.items()), reverse=True)
    total = sum(size for size, _ in sizes)
    for size, key in sizes:
        if total <= MAX_DATA:
            break
        del context[key]
        total -= size
    return True


def check_data(value, what: str) -> None:
    if isinstance(value, CONTAINERS):
        _content(what, data_size(value))
    elif isinstance(value, (str, bytes)):
        check_length(what, len(value))


def _short(value) -> str:
    text = repr(value) if _is_int(value) and _bits(value) < 64 else type(value).__name__
    return text if len(text) <= 24 else text[:21] + "…"


# --------------------------------------------------------------------------- compiling

GUARDED_OPERATORS = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}


def _tick(node: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[])
    copy_locations(call, node)
    return call


def _ticking(body: list[ast.stmt], node: ast.AST) -> list[ast.stmt]:
    statement = ast.Expr(_tick(node))
    copy_locations(statement, node)
    return [statement, *body]


class LimitingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy, with the operators that can build huge values turned into checked calls,
    and a check of the deadline (``limits.tick``) at each turn of a loop and each call of a function."""

    def _ticking_body(self, node):
        """A loop's or a function's body, transformed as RestrictedPython does, with a tick at its top."""
        node = getattr(super(), f"visit_{type(node).__name__}")(node)
        node.body = _ticking(node.body, node)
        return node

    visit_While = visit_For = visit_FunctionDef = _ticking_body

    def visit_comprehension(self, node: ast.comprehension):
        node = super().visit_comprehension(node)
        node.ifs = [_tick(node.iter), *node.ifs]
        return node

    def visit_Lambda(self, node: ast.Lambda):
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(op=ast.And(), values=[_tick(node), node.body])
        copy_locations(node.body, node)
        return node

    def visit_BinOp(self, node: ast.BinOp):
        node = self.node_contents_visit(node)
        name = GUARDED_OPERATORS.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(name), node.left, node.right],
                        keywords=[])
        copy_locations(call, node)
        return call

    def visit_FormattedValue(self, node: ast.FormattedValue):
        node = self.node_contents_visit(node)
        if node.format_spec is None:
            return node
        node.value = ast.Call(func=ast.Name("_format_", ast.Load()),
                              args=[node.value, ast.Constant(node.conversion), node.format_spec], keywords=[])
        copy_locations(node.value, node)
        node.conversion, node.format_spec = -1, None
        return node
