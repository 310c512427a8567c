-- Neovim's own LSP client against `drbook lsp` (tests/cli/lsp_nvim.rs runs it headless).
--
--   DRBOOK_BIN=path/to/drbook DRBOOK_RUNBOOK=path/to/failover.drbook \
--     nvim --headless --clean -u NONE -c "luafile tests/nvim/lsp_client.lua"
--
-- Opens the runbook, waits for its diagnostics, asks for hover, definition, completion,
-- document symbols and formatting, then types a misspelt step id and waits for the error and
-- its quick fix. Prints `ok: ...` per check; any failure prints `FAIL: ...` and exits 1. Uses
-- only APIs Neovim 0.7 has.

local bin = assert(os.getenv("DRBOOK_BIN"), "DRBOOK_BIN is not set")
local file = assert(os.getenv("DRBOOK_RUNBOOK"), "DRBOOK_RUNBOOK is not set")
local log = os.getenv("DRBOOK_LSP_LOG") or "/dev/null"
local WAIT = 30000

local function say(s)
  io.stdout:write(s .. "\n")
  io.stdout:flush()
end

local function fail(msg)
  say("FAIL: " .. msg)
  vim.cmd("cquit 1")
end

-- A hung server fails the test instead of hanging it.
vim.defer_fn(function()
  fail("timed out after 90 s")
end, 90000)

local function check(cond, what, detail)
  if not cond then
    error(what .. (detail and (": " .. vim.inspect(detail)) or ""), 0)
  end
  say("ok: " .. what)
end

local function main()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = "drbook"
  local uri = vim.uri_from_bufnr(buf)

  local published = {}
  local client_id = vim.lsp.start_client({
    name = "drbook",
    cmd = { "sh", "-c", 'exec "$0" lsp 2>>"$1"', bin, log },
    root_dir = vim.fn.fnamemodify(file, ":h"),
    handlers = {
      ["textDocument/publishDiagnostics"] = function(err, result, ctx, config)
        if result and result.uri == uri then
          table.insert(published, result.diagnostics)
        end
        return vim.lsp.diagnostic.on_publish_diagnostics(err, result, ctx, config)
      end,
    },
  })
  check(client_id ~= nil, "drbook lsp started")
  vim.lsp.buf_attach_client(buf, client_id)

  check(vim.wait(WAIT, function() return #published >= 1 end, 20), "diagnostics published on open")
  check(#published[#published] == 0, "the runbook has no diagnostics", published[#published])

  local function lines()
    return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  end
  -- The 0-based position of `needle` (first line holding it) plus `plus` columns.
  local function find(needle, plus)
    for i, l in ipairs(lines()) do
      local s = l:find(needle, 1, true)
      if s then
        return { line = i - 1, character = s - 1 + (plus or 0) }
      end
    end
    error("`" .. needle .. "` is not in the buffer", 0)
  end
  local function ask(method, params)
    params.textDocument = { uri = uri }
    local answers, err = vim.lsp.buf_request_sync(buf, method, params, WAIT)
    if not answers then
      error(method .. ": " .. tostring(err), 0)
    end
    local a = answers[client_id]
    if a == nil or a.error then
      error(method .. ": " .. vim.inspect(a), 0)
    end
    return a.result
  end

  local hover = ask("textDocument/hover", { position = find("needs    promote", 9) })
  local text = hover and hover.contents and hover.contents.value or ""
  check(text:find("step `promote`", 1, true) and text:find("Promote the standby", 1, true),
    "hover names the step and its title", text)
  check(text:find("owner: dba", 1, true) and text:find("10m", 1, true), "hover gives owner and duration", text)
  check(text:find("critical path", 1, true), "hover says where the step stands on the critical path", text)

  local def = ask("textDocument/definition", { position = find("needs    promote", 9) })
  if def and def[1] then
    def = def[1]
  end
  local decl = find("step promote", 5)
  check(def and def.uri == uri and def.range.start.line == decl.line
    and def.range.start.character == decl.character, "definition goes to `step promote`", def)

  local at = find("needs    promote", 9)
  local items = ask("textDocument/completion", { position = at })
  items = items and (items.items or items) or {}
  local labels = {}
  for _, it in ipairs(items) do
    labels[it.label] = true
  end
  check(labels["freeze"] and labels["announce"] and labels["promote"], "completion after `needs` offers step ids", labels)
  check(not labels["restore"], "completion leaves out the step itself", labels)

  local symbols = ask("textDocument/documentSymbol", {})
  local names = {}
  for _, s in ipairs(symbols[1] and symbols[1].children or {}) do
    table.insert(names, s.name)
  end
  check(vim.tbl_contains(names, "smoke") and vim.tbl_contains(names, "region"), "document symbols list params and steps", names)

  local edits = ask("textDocument/formatting", { options = { tabSize = 2, insertSpaces = true } })
  check(type(edits) == "table", "formatting answers with a list of edits", edits)

  -- Type a misspelt step id.
  local row = find("needs    promote, announce").line
  local before = #published
  vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "    needs    restor, announce" })
  local err
  check(vim.wait(WAIT, function()
    for i = before + 1, #published do
      for _, d in ipairs(published[i]) do
        if d.code == "drbook::check::unknown_step" then
          err = d
          return true
        end
      end
    end
    return false
  end, 20), "the misspelt id is reported")
  check(err.severity == 1 and err.source == "drbook" and err.message:find("restor", 1, true), "as an error naming it", err)
  local actions = ask("textDocument/codeAction", { range = err.range, context = { diagnostics = { err } } })
  local titles = {}
  for _, a in ipairs(actions or {}) do
    table.insert(titles, a.title)
  end
  check(vim.tbl_contains(titles, "Replace with `restore`"), "a quick fix offers `restore`", titles)

  vim.lsp.stop_client(client_id)
  check(vim.wait(WAIT, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20), "the server stopped")
end

local ok, msg = pcall(main)
if not ok then
  fail(tostring(msg))
else
  say("PASS")
  vim.cmd("qall!")
end
