-- :CadQueryGenerate [picture] and the server's progress. The server itself is configured in
-- lsp/cadquery.lua and enabled by the user with vim.lsp.enable('cadquery').
if vim.g.loaded_cadquery then
  return
end
vim.g.loaded_cadquery = true

if vim.fn.has('nvim-0.11') ~= 1 then
  vim.notify('cadquery-lsp needs Neovim 0.11 or newer (vim.lsp.config)', vim.log.levels.ERROR)
  return
end

vim.api.nvim_create_user_command('CadQueryGenerate', function(opts)
  local cadquery = require('cadquery')
  local bufnr = vim.api.nvim_get_current_buf()
  if opts.args ~= '' then
    return cadquery.generate(opts.args, bufnr)
  end
  vim.ui.input({ prompt = 'Picture of the part: ', completion = 'file' }, function(path)
    if path and path ~= '' then
      cadquery.generate(path, bufnr)
    end
  end)
end, {
  nargs = '?',
  complete = 'file',
  desc = 'Generate CadQuery code from a picture of a part, at the cursor',
})

vim.api.nvim_create_autocmd('LspProgress', {
  group = vim.api.nvim_create_augroup('cadquery', { clear = true }),
  desc = 'Show cadquery-lsp progress',
  callback = function(event)
    require('cadquery').on_progress(event)
  end,
})
