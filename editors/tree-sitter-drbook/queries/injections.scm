; The script of every `run` action (and of `rollback run` / `verify run`) is shell: its text,
; without the quotes and the `${...}` references, is one bash document.
((run_action
   script: (string (string_content) @injection.content))
 (#set! injection.language "bash")
 (#set! injection.combined))

((run_action
   script: (triple_string (string_content) @injection.content))
 (#set! injection.language "bash")
 (#set! injection.combined))

((comment) @injection.content
 (#set! injection.language "comment"))
