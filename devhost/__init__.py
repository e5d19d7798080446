"""A local Azure Functions host for Python v2 Durable Functions apps, on Azure Storage.

It hosts an app folder's ``function_app`` unchanged, calling the durable SDK the way the
Azure Functions host does. The app never imports this package.
"""
