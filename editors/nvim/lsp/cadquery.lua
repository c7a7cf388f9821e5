-- cadquery-lsp for Neovim 0.11+: `vim.lsp.enable('cadquery')`.
--
-- Override any field with vim.lsp.config('cadquery', { ... }), for example
--   vim.lsp.config('cadquery', {
--     cmd = { '/path/to/cadquery-lsp', 'serve' },
--     settings = { cadquery = { pythonPath = '/path/to/python', candidateCount = 4 } },
--   })
-- The settings are the server's (see the README): pythonPath, modelPath, candidateCount,
-- generationBudgetMs, refineExecutions, executionTimeoutMs, poolSize, executeOnSave,
-- executeAfterIdleMs, modelCompletions, modelCompletionCount.

local root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.git' }

---@type vim.lsp.Config
return {
  cmd = { vim.g.cadquery_lsp_server or 'cadquery-lsp', 'serve' },
  filetypes = { 'python' },
  root_markers = root_markers,
  -- Only buffers that import cadquery: the server runs its documents on save, and an unrelated
  -- Python script must not be executed because it was saved.
  root_dir = function(bufnr, on_dir)
    if require('cadquery').imports_cadquery(bufnr) then
      local file = vim.api.nvim_buf_get_name(bufnr)
      on_dir(vim.fs.root(bufnr, root_markers) or vim.fs.dirname(file))
    end
  end,
  settings = { cadquery = vim.empty_dict() },
}
