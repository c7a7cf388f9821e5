-- Start-up file for the README screenshot: the plugin as a user would set it up, a file with a
-- syntax error, and a signal file once the server's diagnostic is on screen.
--   nvim --clean -u screenshot_init.lua FILE   (env CADQUERY_LSP_SERVER, CADQUERY_READY_FILE)
local plugin_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.number = true
vim.opt.signcolumn = 'yes'
vim.opt.termguicolors = true
vim.opt.laststatus = 2
vim.opt.statusline = "%f %= %{v:lua.require'cadquery'.status()} cadquery-lsp: %{luaeval('#vim.lsp.get_clients({bufnr=0, name=\"cadquery\"})') > 0 ? 'attached' : '-'} "
vim.diagnostic.config({ virtual_text = true, severity_sort = true })

vim.lsp.config('cadquery', { cmd = { os.getenv('CADQUERY_LSP_SERVER'), 'serve' } })
vim.lsp.enable('cadquery')

vim.api.nvim_create_autocmd('DiagnosticChanged', {
  callback = function(event)
    local ours = vim.tbl_filter(function(d)
      return (d.source or ''):find('^cadquery%-lsp') ~= nil
    end, vim.diagnostic.get(event.buf))
    if #ours == 0 then
      return
    end
    vim.api.nvim_win_set_cursor(0, { ours[1].lnum + 1, ours[1].col })
    vim.defer_fn(function()
      vim.diagnostic.open_float({ scope = 'cursor' })
      vim.cmd.redraw()
      vim.defer_fn(function()
        vim.fn.writefile({}, os.getenv('CADQUERY_READY_FILE'))
      end, 300)
    end, 300)
  end,
})
