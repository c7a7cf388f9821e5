-- Headless end-to-end test of the Neovim plugin against the real server:
--   nvim --clean --headless -l editors/nvim/test/test.lua /path/to/cadquery-lsp
-- Prints one line per test and `nvim: N passed, M failed, P pending`; exits 1 when a test failed.
local server = arg[1]
assert(server and vim.fn.executable(server) == 1, 'usage: nvim --clean --headless -l test.lua /path/to/cadquery-lsp')

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local plugin_dir = vim.fn.fnamemodify(here, ':h')
local fixtures = vim.fs.joinpath(vim.fn.fnamemodify(plugin_dir, ':h'), 'fixtures', 'workspace')
local TIMEOUT_MS = 30000

vim.opt.runtimepath:prepend(plugin_dir)
vim.cmd.runtime('plugin/cadquery.lua')
vim.lsp.config('cadquery', { cmd = { server, 'serve' } })
vim.lsp.enable('cadquery')

-- A fresh copy of the fixtures, so edits and saves never touch the repository.
local workspace = vim.fn.tempname()
vim.fn.mkdir(workspace, 'p')
for name in vim.fs.dir(fixtures) do
  vim.fn.writefile(vim.fn.readfile(vim.fs.joinpath(fixtures, name), 'b'), vim.fs.joinpath(workspace, name), 'b')
end

local PENDING = {}
local function pending(why)
  error({ [PENDING] = why }, 0)
end

local function wait_for(what, timeout, probe)
  local value
  local ok = vim.wait(timeout, function()
    value = probe()
    return value ~= nil and value ~= false
  end, 50)
  if not ok then
    error(('timed out after %d ms waiting for %s'):format(timeout, what), 2)
  end
  return value
end

local function server_diagnostics(bufnr)
  return vim.tbl_filter(function(d)
    return (d.source or ''):find('^cadquery%-lsp') ~= nil
  end, vim.diagnostic.get(bufnr))
end

local function describe(diagnostics)
  if #diagnostics == 0 then
    return 'none'
  end
  return table.concat(
    vim.tbl_map(function(d)
      return ('line %d [%s] %s'):format(d.lnum + 1, d.source, d.message)
    end, diagnostics),
    '; '
  )
end

--- Shows the file, reusing its buffer when it is loaded (:edit would reload it).
local function open(name)
  local path = vim.fs.joinpath(workspace, name)
  local existing = vim.fn.bufnr(path)
  if existing ~= -1 and vim.api.nvim_buf_is_loaded(existing) then
    vim.api.nvim_set_current_buf(existing)
  else
    vim.cmd.edit(path)
  end
  return vim.api.nvim_get_current_buf()
end

-- print() in `nvim -l` can leave the last line without its newline; the harness greps lines.
local function say(text)
  io.stdout:write(text, '\n')
  io.stdout:flush()
end

local tests = {}
local function test(name, body)
  table.insert(tests, { name = name, body = body })
end

test('the plugin tells CadQuery imports from look-alikes', function()
  local imports = require('cadquery').line_imports_cadquery
  for _, line in ipairs({
    'import cadquery as cq',
    'import os, cadquery',
    'import numpy as np, cadquery as cq',
    'from cadquery import Workplane',
    '    from cadquery.occ_impl.shapes import Solid',
    'import cadquery.occ_impl.exporters',
    'import cadquery  # CAD',
  }) do
    assert(imports(line), 'missed: ' .. line)
  end
  for _, line in ipairs({
    'import cadquery_extras',
    'from cadquery_extras import x',
    '# import cadquery',
    "x = 'import cadquery'",
    'import build123d as bd',
  }) do
    assert(not imports(line), 'wrongly matched: ' .. line)
  end
end)

test('a syntax error gets a diagnostic from cadquery-lsp on its line', function()
  local buf = open('part_syntax_error.py')
  wait_for('cadquery-lsp to attach', TIMEOUT_MS, function()
    return require('cadquery').client(buf)
  end)
  local diagnostics = wait_for('a cadquery-lsp diagnostic', TIMEOUT_MS, function()
    local ours = server_diagnostics(buf)
    return #ours > 0 and ours or nil
  end)
  local on_line = vim.tbl_filter(function(d)
    return d.lnum == 3 and d.severity == vim.diagnostic.severity.ERROR
  end, diagnostics)
  assert(#on_line > 0, 'no error on line 4; got ' .. describe(diagnostics))
end)

test('fixing the error clears the diagnostic (edits reach the server)', function()
  local buf = open('part_syntax_error.py')
  assert(#server_diagnostics(buf) > 0, 'no diagnostic to start from (the previous test failed?)')
  local line = vim.api.nvim_buf_get_lines(buf, 3, 4, true)[1]
  local fixed = line:gsub('6%)%)', '6)', 1)
  assert(fixed ~= line, 'the fixture no longer has its extra parenthesis')
  vim.api.nvim_buf_set_lines(buf, 3, 4, true, { fixed })
  wait_for('the diagnostic to clear', TIMEOUT_MS, function()
    for _, d in ipairs(server_diagnostics(buf)) do
      if d.lnum == 3 then
        return nil
      end
    end
    return true
  end)
end)

test('a Python file without cadquery gets no server', function()
  local plain = open('plain.py')
  local ok = open('part_ok.py')
  wait_for('cadquery-lsp to attach to part_ok.py', TIMEOUT_MS, function()
    return require('cadquery').client(ok)
  end)
  local clients = vim.lsp.get_clients({ bufnr = plain, name = 'cadquery' })
  assert(#clients == 0, 'cadquery-lsp attached to plain.py')
end)

test(':CadQueryGenerate completes paths and explains what it cannot do', function()
  local command = vim.api.nvim_get_commands({}).CadQueryGenerate
  assert(command and command.complete == 'file', ':CadQueryGenerate is missing or does not complete paths')
  local buf = open('part_ok.py')
  wait_for('cadquery-lsp to attach', TIMEOUT_MS, function()
    return require('cadquery').client(buf)
  end)
  local messages = {}
  local notify = vim.notify
  vim.notify = function(message, level)
    table.insert(messages, { message = message, level = level })
  end
  local ok, err = pcall(vim.cmd, 'CadQueryGenerate /nonexistent/picture.png')
  vim.notify = notify
  assert(ok, err)
  assert(#messages == 1 and messages[1].level == vim.log.levels.ERROR, 'expected one error, got ' .. vim.inspect(messages))
  local said = messages[1].message
  assert(
    said:find('does not offer generation', 1, true) or said:find('cannot read the picture', 1, true),
    'unexpected message: ' .. said
  )
end)

test('generate from a picture puts code in the buffer; alternatives come as code actions', function()
  local buf = open('generated.py')
  local cadquery = require('cadquery')
  local client = wait_for('cadquery-lsp to attach', TIMEOUT_MS, function()
    return cadquery.client(buf)
  end)
  if not cadquery.offers_generate(client) then
    pending('the server does not offer cadquery.generate yet (the generation pipeline is not built)')
  end
  local shared = os.getenv('CADQUERY_LSP_SHARED')
  if not shared then
    pending('CADQUERY_LSP_SHARED is not set: no example picture to generate from')
  end
  local dev = vim.fs.joinpath(shared, 'data', 'gencad-dev')
  local pictures = vim.fn.sort(vim.fn.glob(vim.fs.joinpath(dev, '*.png'), false, true))
  assert(#pictures > 0, 'no .png in ' .. dev)
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(buf), 0 })

  local progress = 0
  local listener = vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(event)
      if event.data.client_id == client.id then
        progress = progress + 1
      end
    end,
  })
  local done, candidates, failure = false, nil, nil
  cadquery.generate(pictures[1], buf, function(c, err)
    done, candidates, failure = true, c, err
  end)
  wait_for('generation to finish', 600000, function()
    return done
  end)
  vim.api.nvim_del_autocmd(listener)
  assert(not failure, failure)
  assert(#candidates > 0, 'no candidates')
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  wait_for('the best candidate in the buffer', TIMEOUT_MS, function()
    text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
    return text:find(candidates[1].code, 1, true) ~= nil
  end)
  assert(progress > 0, 'no LspProgress event from the server during generation')

  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local answer = client:request_sync('textDocument/codeAction', params, TIMEOUT_MS, buf)
  assert(answer and not answer.err, 'codeAction failed: ' .. vim.inspect(answer))
  assert(#(answer.result or {}) > 0, 'no code action offers the other candidates')
end)

local counts = { passed = 0, failed = 0, pending = 0 }
for _, t in ipairs(tests) do
  local started = vim.uv.hrtime()
  local ok, err = xpcall(t.body, function(e)
    if type(e) == 'table' and e[PENDING] then
      return e
    end
    return debug.traceback(tostring(e), 2)
  end)
  local status = ok and 'passed' or (type(err) == 'table' and 'pending' or 'failed')
  counts[status] = counts[status] + 1
  local detail = ok and '' or (type(err) == 'table' and err[PENDING] or err)
  local ms = math.floor((vim.uv.hrtime() - started) / 1e6)
  say(('nvim: [%s] %s (%d ms)%s'):format(status, t.name, ms, detail ~= '' and ('\n    ' .. detail:gsub('\n', '\n    ')) or ''))
end
say(('nvim: %d passed, %d failed, %d pending'):format(counts.passed, counts.failed, counts.pending))
for _, client in ipairs(vim.lsp.get_clients()) do
  client:stop(true)
end
os.exit(counts.failed > 0 and 1 or 0)
