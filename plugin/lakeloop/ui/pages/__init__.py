"""The dashboard's pages: one module per page, each an ``async def page(request)`` handler."""
