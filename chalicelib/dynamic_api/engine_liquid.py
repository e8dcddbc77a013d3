"""The liquid engine (python-liquid) of `engines`: every `{{ }}` and `{% echo %}`
is a bound value (`binding.emit`); only the tags in `_LIQUID_TAGS` exist;
filters are size-bounded and loops counted (`bounds`). A plain template
(text and `{{ name }}` only) renders through `binding.plain_renderer`.
"""
from __future__ import annotations

from typing import Iterable

from . import bounds
from .binding import (
    BUILTIN_VARIABLES,
    UNSAFE_ATTRS,
    CompiledTemplate,
    TemplateEngine,
    TemplateError,
    common_source_checks,
    emit,
)
from .sqltext import MARK

_LIQUID_TAGS = ("if", "unless", "case", "for", "break", "continue", "assign", "comment", "echo",
                "liquid", "#", "doc", "raw")


def _make_liquid_environment():
    import liquid
    from liquid.builtin import content, illegal
    from liquid.builtin import output as lout
    from liquid.builtin.tags import (
        assign_tag,
        case_tag,
        comment_tag,
        doc_tag,
        echo_tag,
        for_tag,
        if_tag,
        inline_comment_tag,
        liquid_tag,
        unless_tag,
    )

    class BoundOutputNode(lout.OutputNode):
        __slots__ = ()

        def render_to_output(self, context, buffer):
            return buffer.write(emit(self.expression.evaluate(context)))

        async def render_to_output_async(self, context, buffer):
            return buffer.write(emit(await self.expression.evaluate_async(context)))

    class BoundEchoNode(echo_tag.EchoNode):
        __slots__ = ()
        render_to_output = BoundOutputNode.render_to_output
        render_to_output_async = BoundOutputNode.render_to_output_async

    class BoundOutput(lout.Output):
        node_class = BoundOutputNode

    class BoundEcho(echo_tag.EchoTag):
        node_class = BoundEchoNode

    class SqlLiquidEnvironment(liquid.Environment):
        loop_iteration_limit = bounds.MAX_LOOP_ITERATIONS
        output_stream_limit = bounds.MAX_STRING

        def setup_tags_and_filters(self, *, extra: bool = False) -> None:
            from liquid.builtin import register
            register(self)                     # all filters (pure functions of values), size-bounded below
            self.filters = {k: bounds.bounded_filter(k, f, passes_first_arg=False) for k, f in self.filters.items()}
            self.tags.clear()
            for tag in (content.Literal, BoundOutput, illegal.Illegal, if_tag.IfTag,
                        comment_tag.CommentTag, unless_tag.UnlessTag, case_tag.CaseTag,
                        for_tag.ForTag, for_tag.BreakTag, for_tag.ContinueTag, assign_tag.AssignTag,
                        BoundEcho, liquid_tag.LiquidTag, inline_comment_tag.InlineCommentTag,
                        doc_tag.DocTag):
                self.add_tag(tag)
            self.filters.pop("safe", None)

    env = SqlLiquidEnvironment(strict_filters=True, autoescape=False)
    return env, (BoundOutputNode, BoundEchoNode)


class LiquidEngine(TemplateEngine):
    name = "liquid"

    def __init__(self):
        self.env, self._output_nodes = _make_liquid_environment()

    def _check(self, template, declared: set[str]) -> list[str]:
        problems: list[str] = []
        analysis = template.analyze(include_partials=False)
        for name in sorted(analysis.globals):
            if name not in declared and name not in BUILTIN_VARIABLES:
                problems.append(f"variable {name!r} is neither a declared parameter nor a built-in "
                                f"({', '.join(sorted(BUILTIN_VARIABLES))})")

        def segs(value):
            if isinstance(value, (list, tuple)):
                for v in value:
                    yield from segs(v)
            else:
                yield value

        for refs in analysis.variables.values():
            for var in refs:
                for seg in segs(var.segments):
                    if isinstance(seg, str) and (seg.startswith("_") or seg in UNSAFE_ATTRS):
                        problems.append(f"{var}: {seg!r} is not accessible (sandbox)")
        for name in sorted(analysis.filters):
            if name not in self.env.filters:
                problems.append(f"filter {name!r} is not available")
        for name in sorted(analysis.tags):
            if name not in _LIQUID_TAGS:
                problems.append(f"tag {name!r} is not allowed in SQL templates")
        return sorted(set(problems), key=problems.index)

    def _skeleton(self, template) -> str:
        from liquid.builtin.content import ContentNode
        from liquid.builtin.tags.for_tag import ForNode
        from liquid.context import RenderContext
        static = RenderContext(template)
        out: list[str] = []

        def walk(node):
            if isinstance(node, ContentNode):
                out.append(node.text)
            elif isinstance(node, self._output_nodes):
                out.append(MARK)
            elif isinstance(node, ForNode):
                walk(node.block)
                walk(node.block)
                if node.default:
                    walk(node.default)
            else:
                for child in node.children(static, include_partials=False):
                    walk(child)

        for n in template.nodes:
            walk(n)
        return "".join(out)

    def _plain(self, template) -> tuple[str, ...] | None:
        """(text, name, text, …, text) when every node is literal text or an output of a bare
        variable name (no filters, attributes or items); None otherwise."""
        from liquid.builtin.content import ContentNode
        from liquid.builtin.expressions.filtered import FilteredExpression
        from liquid.builtin.expressions.path import Path
        pieces, text = [], ""
        for node in template.nodes:
            if type(node) is ContentNode:
                text += node.text
                continue
            expr = getattr(node, "expression", None)
            if not (type(node) in self._output_nodes and type(expr) is FilteredExpression and not expr.filters
                    and type(expr.left) is Path and len(expr.left.path) == 1
                    and isinstance(expr.left.path[0], str)):
                return None
            pieces += [text, expr.left.path[0]]
            text = ""
        return (*pieces, text)

    def compile(self, source: str, declared: Iterable[str] = ()) -> CompiledTemplate:
        from liquid.exceptions import LiquidError
        problems = common_source_checks(source)
        if problems:
            raise TemplateError(problems, self.name)
        try:
            template = self.env.from_string(source)
        except LiquidError as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "unexpected tag" in msg or "unknown tag" in msg:
                msg += f" (tags allowed in SQL templates: {', '.join(_LIQUID_TAGS)})"
            raise TemplateError([msg], self.name) from exc
        problems = self._check(template, set(declared))
        if problems:
            raise TemplateError(problems, self.name)

        def render(values: dict) -> str:
            from liquid.exceptions import LoopIterationLimitError, OutputStreamLimitError
            try:
                return template.render(**values)
            except LoopIterationLimitError:
                raise bounds.TemplateLimitExceeded("loops ran more than the allowed iterations", "loop_iterations",
                                                   bounds.MAX_LOOP_ITERATIONS) from None
            except OutputStreamLimitError:
                raise bounds.too_much_sql(bounds.MAX_STRING + 1) from None

        return CompiledTemplate(self.name, source, render, self._skeleton(template), self._plain(template))


