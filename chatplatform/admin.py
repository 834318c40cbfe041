from django.contrib import admin

admin.site.site_header = "Chat platform console"
admin.site.site_title = "Chat platform console"
admin.site.index_title = "Organizations, people and the chat service"
