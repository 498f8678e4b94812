# Run by syntax.rs as `python3 -I -S -c <this> PATH` with the source on stdin.
# Parses it (ast.parse and symtable read the text and run none of it) and
# prints either `line N: message` with exit status 3 for a syntax error, or
# one `NAME LINE` per name the module reads as a global that nothing defines
# (sorted by line), or `?` when the module defines names in ways this cannot
# follow. Written for Python 3.8 and later; anything unexpected prints `?`.
import ast, builtins, symtable, sys

path = sys.argv[1]
src = sys.stdin.buffer.read()
try:
    tree = ast.parse(src, path)
except SyntaxError as e:
    print(f'line {e.lineno}: {e.msg}')
    sys.exit(3)

# Builtins a newer Python has than the one running this may be, and those
# the site module adds (this runs with -S).
LATER = ('aiter', 'anext', 'EncodingWarning', 'BaseExceptionGroup',
         'ExceptionGroup', 'PythonFinalizationError',
         'exit', 'quit', 'help', 'copyright', 'credits', 'license')
# Calls that can define globals this cannot see.
DYNAMIC = ('globals', 'locals', 'vars', 'exec')
# Handlers that catch a NameError.
PROBES = {'NameError', 'Exception', 'BaseException'}
COMPREHENSIONS = {ast.ListComp: 'listcomp', ast.SetComp: 'setcomp',
                  ast.DictComp: 'dictcomp', ast.GeneratorExp: 'genexpr'}


def targets(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def params(args):
    every = args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
    return [a for a in every if a]


class Scope:
    """A symtable table, its children not yet matched to a node, and the
    names of an inlined comprehension (3.12+: no table of its own)."""

    def __init__(self, table, bound=frozenset()):
        self.table = table
        self.kids = list(table.get_children())
        self.bound = bound

    def enter(self, kind, name, node, names):
        # The child table made for `node`; None when none matches (a newer
        # Python's scopes), and then the node's inside is not judged.
        for i, kid in enumerate(self.kids):
            if (kid.get_type() == kind and kid.get_name() == name
                    and kid.get_lineno() == node.lineno):
                del self.kids[i]
                if names is not None and sorted(kid.get_parameters()) != sorted(names):
                    return None
                return Scope(kid)
        return None


def undefined():
    future = False
    init = path.replace('\\', '/').rsplit('/', 1)[-1] == '__init__.py'
    known = set(dir(builtins)).union(LATER)
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if any(a.name == '*' for a in n.names):
                return None
            if n.module == '__future__' and any(a.name == 'annotations' for a in n.names):
                future = True
            # A package's __init__ gets each submodule it imports as a global.
            if init and n.module:
                known.update(n.module.split('.'))
        elif isinstance(n, ast.Import) and init:
            for a in n.names:
                known.update(a.name.split('.'))
        elif isinstance(n, ast.Try) or type(n).__name__ == 'TryStar':
            # `try: name` / `except NameError:` is how code asks whether a
            # name exists (one a host like IPython may add to builtins).
            if any(h.type is None or PROBES & targets(h.type) for h in n.handlers):
                for x in n.body:
                    known.update(targets(x))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in DYNAMIC:
            return None
        # enum's _convert_ and global_enum, and sys.modules[__name__], put
        # names into the module's globals at run time.
        elif (isinstance(n, ast.Attribute) and n.attr in ('_convert_', 'global_enum')
              or isinstance(n, ast.Name) and n.id == 'global_enum'):
            return None
        elif isinstance(n, ast.Subscript):
            key = n.slice
            key = key.value if type(key).__name__ == 'Index' else key
            if isinstance(key, ast.Name) and key.id == '__name__':
                return None
    top = symtable.symtable(src, path, 'exec')
    tables = [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for s in table.get_symbols():
            bound = s.is_local() or s.is_assigned() or s.is_imported() or s.is_namespace()
            if s.is_declared_global() or table is top and bound:
                known.add(s.get_name())
    found = {}

    def use(node, scope):
        name = node.id
        if name in known or name in scope.bound or name.startswith('__') and name.endswith('__'):
            return
        try:
            s = scope.table.lookup(name)
        except KeyError:
            return
        # Not is_global() alone: it takes any table named 'top' for the module.
        bound = s.is_assigned() or s.is_parameter() or s.is_imported()
        if scope.table is top or s.is_global() and not bound:
            found[name] = min(found.get(name, node.lineno), node.lineno)

    def annotation(node, scope):
        # Not evaluated at all under `from __future__ import annotations`.
        if node is not None and not future:
            visit(node, scope)

    def visit(node, scope):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                use(node, scope)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            for d in a.defaults + [d for d in a.kw_defaults if d]:
                visit(d, scope)
            names = [p.arg for p in params(a)]
            if isinstance(node, ast.Lambda):
                inner = scope.enter('function', 'lambda', node, names)
                if inner:
                    visit(node.body, inner)
                return
            for d in node.decorator_list:
                visit(d, scope)
            if getattr(node, 'type_params', None):
                return
            for p in params(a):
                annotation(p.annotation, scope)
            annotation(node.returns, scope)
            inner = scope.enter('function', node.name, node, names)
            if inner:
                for s in node.body:
                    visit(s, inner)
        elif isinstance(node, ast.ClassDef):
            for x in node.decorator_list + node.bases + node.keywords:
                visit(x, scope)
            if getattr(node, 'type_params', None):
                return
            inner = scope.enter('class', node.name, node, None)
            if inner:
                for s in node.body:
                    visit(s, inner)
        elif type(node) in COMPREHENSIONS:
            gens = node.generators
            # The first iterable is evaluated outside the comprehension.
            visit(gens[0].iter, scope)
            inner = scope.enter('function', COMPREHENSIONS[type(node)], node, None)
            if inner is None and not isinstance(node, ast.GeneratorExp):
                bound = set(scope.bound)
                for g in gens:
                    bound |= targets(g.target)
                inner = Scope(scope.table, frozenset(bound))
                inner.kids = scope.kids
            if inner:
                for i, g in enumerate(gens):
                    if i:
                        visit(g.iter, inner)
                    for x in g.ifs:
                        visit(x, inner)
                for x in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
                    visit(x, inner)
        elif isinstance(node, ast.AnnAssign):
            visit(node.target, scope)
            if node.value:
                visit(node.value, scope)
            # A local variable's annotation is never evaluated.
            if scope.table.get_type() != 'function':
                annotation(node.annotation, scope)
        elif type(node).__name__ != 'TypeAlias':
            for child in ast.iter_child_nodes(node):
                visit(child, scope)

    visit(tree, Scope(top))
    return sorted(found.items(), key=lambda f: (f[1], f[0]))


try:
    found = undefined()
except Exception:
    found = None
out = sys.stdout.buffer
if found is None:
    out.write(b'?\n')
else:
    out.write(''.join(f'{name} {line}\n' for name, line in found).encode())
