from desk.app import main

main()
