/**
 * @file tree-sitter grammar for drbook runbooks (`.drbook`).
 *
 * The language of record is drbook's pest grammar (`grammar/drbook.pest`); this grammar is
 * for editors: highlighting, folding, injections and outlines. It has the same layout rules
 * (a newline or `;` ends a statement; inside `[...]` and `(...)` newlines are whitespace;
 * keywords are contextual) and names the constructs an editor shows: imports, the runbook,
 * templates, steps, params, secrets, `needs`, `use`, approvals, captures and every action.
 * Any other statement is an `attribute`: a name, its values and an optional block, which is
 * how drbook itself reads `owner`, `rto`, `retry`, `when`, `env { }`, `drills { }` and the
 * rest before checking them.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const sep1 = (rule, separator) => seq(rule, repeat(seq(separator, rule)));

/** `open item, item, ... close`: newlines allowed anywhere inside, a trailing comma too. */
const bracketed = ($, open, item, close) => seq(
  open,
  repeat($._nl),
  optional(seq(
    sep1(item, seq(repeat($._nl), ',', repeat($._nl))),
    repeat($._nl),
    optional(seq(',', repeat($._nl))),
  )),
  close,
);

module.exports = grammar({
  name: 'drbook',

  word: $ => $.identifier,

  extras: $ => [/[ \t\r]/, $.comment],

  rules: {
    source_file: $ => seq(
      repeat($._sep),
      optional(seq(sep1($._top_item, repeat1($._sep)), repeat($._sep))),
    ),

    _sep: _ => choice('\n', ';'),
    _nl: _ => '\n',

    comment: _ => token(seq('#', /[^\n]*/)),

    _top_item: $ => choice($.import, $.runbook, $.template),

    import: $ => seq(
      'import',
      field('path', $._value),
      optional(seq('as', field('alias', $.identifier))),
    ),

    runbook: $ => seq('runbook', field('name', $._value), field('body', $.block)),

    template: $ => seq(
      'template',
      field('name', $.identifier),
      field('parameters', $.template_parameters),
      field('body', $.block),
    ),

    template_parameters: $ => bracketed($, '(', $.template_parameter, ')'),

    template_parameter: $ => seq(
      field('name', $.identifier),
      optional(seq('=', field('default', $._value))),
    ),

    // `{ statements }`: the body of a runbook, step or template, and every nested block.
    block: $ => seq(
      '{',
      repeat($._sep),
      optional(seq(sep1($._statement, repeat1($._sep)), repeat($._sep))),
      '}',
    ),

    _statement: $ => choice(
      $.step,
      $.param,
      $.secret,
      $.needs,
      $.use,
      $.approval,
      $.approvers,
      $.capture,
      $.rollback,
      $.verify,
      $.probe,
      $._action,
      $.quoted_entry,
      $.attribute,
    ),

    step: $ => seq(
      optional(field('finally', 'finally')),
      'step',
      field('name', $.identifier),
      optional(field('title', $._value)),
      field('body', $.block),
    ),

    param: $ => seq(
      'param',
      field('name', $.identifier),
      optional(seq(':', field('type', $.identifier))),
      optional(seq('=', field('default', $._value))),
    ),

    secret: $ => seq(
      'secret',
      field('name', $.identifier),
      '=',
      field('source', $.identifier),
      '(',
      repeat($._nl),
      field('argument', $._value),
      repeat($._nl),
      ')',
    ),

    needs: $ => seq(
      'needs',
      choice(
        sep1(field('step', $.identifier), ','),
        bracketed($, '[', field('step', $.identifier), ']'),
      ),
    ),

    use: $ => seq(
      'use',
      field('module', $.identifier),
      '.',
      field('template', $.identifier),
      field('arguments', $.arguments),
    ),

    arguments: $ => bracketed($, '(', $.argument, ')'),

    argument: $ => seq(field('name', $.identifier), '=', field('value', $._value)),

    approval: $ => seq('approval', field('body', $.block)),

    // `by lead, dba` inside `approval { }` (and `requires approval { }`).
    approvers: $ => seq('by', sep1(field('role', $.identifier), ',')),

    capture: $ => seq(
      'capture',
      field('name', $.identifier),
      'from',
      choice(
        field('source', 'stdout'),
        seq(field('source', choice('json', 'regex')), field('pattern', $._value)),
      ),
    ),

    rollback: $ => seq('rollback', choice(field('body', $.block), field('action', $._action))),

    verify: $ => seq('verify', field('action', $._action)),

    // `probe NAME [timeout D] ACTION` inside `trigger { }`.
    probe: $ => seq(
      'probe',
      field('name', $.identifier),
      optional(seq('timeout', field('timeout', $._value))),
      field('action', $._action),
    ),

    _action: $ => choice(
      $.run_action,
      $.http_action,
      $.ssm_action,
      $.wait_action,
      $.manual_action,
      $.notify_action,
    ),

    run_action: $ => seq('run', field('script', $._value)),

    http_action: $ => seq(
      'http',
      field('method', $.identifier),
      field('url', $._value),
      optional(field('options', $.block)),
    ),

    ssm_action: $ => choice(
      seq(
        'ssm',
        field('kind', choice('command', 'automation')),
        field('document', $._value),
        optional(field('options', $.block)),
      ),
      seq(
        'ssm',
        field('kind', 'put'),
        field('parameter', $._value),
        '=',
        field('value', $._value),
        optional('secure'),
      ),
    ),

    wait_action: $ => seq('wait', field('duration', $._value)),

    manual_action: $ => seq('manual', field('instructions', $._value)),

    // `notify URL TEXT`; in `trigger { }`, `notify URL` alone.
    notify_action: $ => seq('notify', field('url', $._value), optional(field('text', $._value))),

    // `"Key" = value` in `env { }`, `roles { }`, `parameters { }`.
    quoted_entry: $ => seq(field('key', $.string), '=', field('value', $._value)),

    // Every other statement: `owner "x"`, `rto 15m`, `retry 3 every 30s`, `when a == b`,
    // `env { ... }`, `service "api" { ... }`, `KEY = "value"`, ...
    attribute: $ => prec.right(seq(
      field('name', $.identifier),
      repeat($._atom),
      optional(field('body', $.block)),
    )),

    _atom: $ => choice(
      $._value,
      $.operator,
      $.group,
      '=',
      ',',
      ':',
      '.',
    ),

    // An operator may end a line: the expression goes on on the next one.
    operator: $ => prec.right(seq(
      choice('==', '!=', '<=', '>=', '<', '>', '&&', '||', '!'),
      repeat($._nl),
    )),

    group: $ => seq('(', repeat(choice($._atom, $._nl)), ')'),

    _value: $ => choice(
      $.string,
      $.triple_string,
      $.duration,
      $.date,
      $.range,
      $.number,
      $.boolean,
      $.placeholder,
      $.list,
      $.identifier,
    ),

    list: $ => bracketed($, '[', $._value, ']'),

    string: $ => seq(
      '"',
      repeat(choice(
        alias(token.immediate(prec(1, /[^"\\\n$]+/)), $.string_content),
        $.escape_sequence,
        $.interpolation,
        alias(token.immediate('$'), $.string_content),
      )),
      token.immediate('"'),
    ),

    triple_string: $ => seq(
      '"""',
      repeat(choice(
        alias(token.immediate(prec(1, /[^"\\$]+/)), $.string_content),
        alias(token.immediate(choice('"', '""')), $.string_content),
        $.escape_sequence,
        $.interpolation,
        alias(token.immediate('$'), $.string_content),
      )),
      token.immediate(/"*"""/),
    ),

    escape_sequence: _ => token.immediate(/\\(.|\n)/),

    interpolation: $ => seq(token.immediate('${'), optional($.path), '}'),

    path: $ => sep1($.identifier, token.immediate('.')),

    placeholder: $ => seq('${', $.identifier, '}'),

    duration: _ => /(\d+(ms|s|m|h|d))+/,
    date: _ => /\d{4}-\d{2}-\d{2}/,
    range: _ => /-?\d+\.\.-?\d+/,
    number: _ => /-?\d+(\.\d+)?/,
    boolean: _ => choice('true', 'false'),

    identifier: _ => /[A-Za-z_][A-Za-z0-9_-]*/,
  },
});
