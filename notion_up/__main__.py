from notion_up.cli.start import main

main()
