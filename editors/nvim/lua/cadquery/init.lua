-- The plugin's functions: which buffers are CadQuery files, generation from a picture, and the
-- server's progress for the statusline. plugin/cadquery.lua binds them to commands and events.
local M = {}

--- The server's executeCommand id for generation (docs/DESIGN.md, "LSP surface").
M.GENERATE_COMMAND = 'cadquery.generate'

--- Whether one `import ...` / `from ... import` line imports the cadquery package.
function M.line_imports_cadquery(line)
  if line:match('^%s*from%s+cadquery[%s%.]') then
    return true
  end
  local names = line:match('^%s*import%s+(.*)$')
  if not names then
    return false
  end
  for item in names:gmatch('[^,]+') do
    -- `cadquery`, `cadquery as cq`, `cadquery.occ_impl`, but not `cadquery_extras`
    if item:match('^%s*cadquery$') or item:match('^%s*cadquery[^%w_]') then
      return true
    end
  end
  return false
end

--- Whether the buffer imports cadquery (in its first 500 lines: imports sit at the top).
function M.imports_cadquery(bufnr)
  for _, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, 500, false)) do
    if M.line_imports_cadquery(line) then
      return true
    end
  end
  return false
end

--- The cadquery-lsp client attached to the buffer, or nil and why not.
function M.client(bufnr)
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'cadquery' })[1]
  if client then
    return client
  end
  if not vim.lsp.is_enabled('cadquery') then
    return nil, "cadquery-lsp is not enabled: add vim.lsp.enable('cadquery') to your config"
  end
  return nil,
    'cadquery-lsp is not attached to this buffer: it attaches to Python files that import cadquery '
      .. '(add `import cadquery as cq` and :edit the file again)'
end

--- Whether the running server offers generation.
function M.offers_generate(client)
  local provider = client.server_capabilities.executeCommandProvider
  return provider ~= nil and vim.tbl_contains(provider.commands or {}, M.GENERATE_COMMAND)
end

local function notify(message, level)
  vim.notify('cadquery: ' .. message, level or vim.log.levels.INFO)
end

--- Reads the command's answer: { candidates = { { code, score, render? }, ... } }, best first.
local function candidates_of(result)
  if type(result) ~= 'table' or type(result.candidates) ~= 'table' then
    return nil, 'the server answered ' .. vim.inspect(result):sub(1, 200) .. ', not { candidates = ... }'
  end
  for i, c in ipairs(result.candidates) do
    if type(c.code) ~= 'string' or type(c.score) ~= 'number' then
      return nil, ('candidate %d has no code or score'):format(i)
    end
  end
  return result.candidates
end

--- Generates CadQuery code for the picture at `path` into the buffer at the cursor. The server
--- applies the best candidate (workspace/applyEdit); the others are offered as code actions
--- (vim.lsp.buf.code_action()). `on_done(candidates | nil, err | nil)` is called at the end.
function M.generate(path, bufnr, on_done)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  on_done = on_done
    or function(candidates, err)
      if err then
        notify(err, vim.log.levels.ERROR)
      elseif #candidates == 0 then
        notify('no candidate executed and matched the picture; try a larger generationBudgetMs', vim.log.levels.WARN)
      else
        notify(('%d candidates (best %.0f%%); other candidates: vim.lsp.buf.code_action()'):format(
          #candidates,
          candidates[1].score * 100
        ))
      end
    end
  local client, why = M.client(bufnr)
  if not client then
    return on_done(nil, why)
  end
  if not M.offers_generate(client) then
    return on_done(
      nil,
      ('this cadquery-lsp server does not offer generation (no `%s` command): update the server'):format(
        M.GENERATE_COMMAND
      )
    )
  end
  local image = vim.fn.fnamemodify(vim.fn.expand(path), ':p')
  if vim.fn.filereadable(image) ~= 1 then
    return on_done(nil, ('cannot read the picture %s: give the path of a PNG or JPEG file'):format(image))
  end
  local win = vim.fn.bufwinid(bufnr)
  local position = vim.lsp.util.make_position_params(win ~= -1 and win or 0, client.offset_encoding).position
  local params = {
    command = M.GENERATE_COMMAND,
    arguments = { { image = image, uri = vim.uri_from_bufnr(bufnr), position = position } },
    workDoneToken = ('cadquery-generate-%d'):format(vim.uv.hrtime()),
  }
  client:request('workspace/executeCommand', params, function(err, result)
    if err then
      return on_done(nil, ('generation failed: %s'):format(err.message or vim.inspect(err)))
    end
    local candidates, bad = candidates_of(result)
    if not candidates then
      return on_done(nil, bad)
    end
    vim.b[bufnr].cadquery_candidates = candidates
    on_done(candidates, nil)
  end, bufnr)
end

--- Last progress line of the server (for the statusline), '' when idle.
local progress_line = ''

function M.status()
  return progress_line
end

--- LspProgress handler: keeps the statusline text and echoes the server's progress.
function M.on_progress(event)
  local client = vim.lsp.get_client_by_id(event.data.client_id)
  if not client or client.name ~= 'cadquery' then
    return
  end
  local value = event.data.params.value
  if type(value) ~= 'table' then
    return
  end
  if value.kind == 'end' then
    progress_line = ''
  else
    progress_line = table.concat(
      vim.tbl_filter(function(s)
        return s ~= ''
      end, {
        value.title or '',
        value.message or '',
        value.percentage and (value.percentage .. '%') or '',
      }),
      ' '
    )
  end
  vim.api.nvim_echo({ { 'cadquery-lsp: ' .. (progress_line ~= '' and progress_line or 'done') } }, false, {})
  vim.cmd.redrawstatus()
end

return M
