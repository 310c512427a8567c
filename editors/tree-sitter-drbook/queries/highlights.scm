; Highlights for drbook runbooks (capture names as nvim-treesitter and Helix use them).

(comment) @comment

[(string) (triple_string)] @string
(escape_sequence) @string.escape
(interpolation ["${" "}"] @punctuation.special)
(interpolation (path (identifier) @variable))
(placeholder ["${" "}"] @punctuation.special)
(placeholder (identifier) @variable)

[(duration) (date) (range) (number)] @number
(boolean) @boolean

[
  "import" "as" "runbook" "template" "step" "finally" "param" "secret" "needs" "use"
  "approval" "by" "capture" "from" "stdout" "json" "regex" "rollback" "verify" "probe"
  "timeout"
] @keyword

[
  "run" "http" "ssm" "command" "automation" "put" "secure" "wait" "manual" "notify"
] @function.builtin

(runbook name: (string) @title)
(step name: (identifier) @function)
(needs step: (identifier) @function)
(template name: (identifier) @function)
(use module: (identifier) @module)
(use template: (identifier) @function.call)
(template_parameter name: (identifier) @variable.parameter)
(argument name: (identifier) @variable.parameter)
(param name: (identifier) @variable)
(param type: (identifier) @type)
(secret name: (identifier) @variable)
(secret source: (identifier) @function.builtin)
(capture name: (identifier) @variable)
(approvers role: (identifier) @constant)
(probe name: (identifier) @function)
(http_action method: (identifier) @constant)
(attribute name: (identifier) @property)

(operator) @operator
"=" @operator
["{" "}" "[" "]" "(" ")"] @punctuation.bracket
["," ";" "." ":"] @punctuation.delimiter
