; Steps, params, secrets, captures and template parameters are definitions; `needs` and
; `${...}` refer to them.
(source_file) @local.scope
(step name: (identifier) @local.definition.function)
(param name: (identifier) @local.definition.var)
(secret name: (identifier) @local.definition.var)
(capture name: (identifier) @local.definition.var)
(template name: (identifier) @local.definition.function)
(template_parameter name: (identifier) @local.definition.parameter)
(needs step: (identifier) @local.reference)
(interpolation (path (identifier) @local.reference))
